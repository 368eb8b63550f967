import type { Sql } from '../../server/db/sql.js';

/**
 * A database's schema in terms both engines share, so SQLite's and
 * PostgreSQL's can be compared for equality (test/db/postgres-migrations.test.ts):
 *
 * - types normalised: TEXT/text → text; INTEGER/integer/bigint → integer
 *   (SQLite has one integer type; PostgreSQL's width is checked by review:
 *   BIGINT where a value can pass 2^31, docs/protocol-notes.md); BLOB/bytea → blob;
 * - defaults as written, without PostgreSQL's `::type` casts;
 * - NOT NULL as the engine enforces it: declared, or part of the primary key.
 *   (One SQLite quirk is normalised away: a non-INTEGER primary key of a rowid
 *   table accepts NULL. Every id is validated non-empty at the edge.)
 * - check constraints and partial-index predicates as the columns they read
 *   and the literals they compare with — each engine's deparser spells the
 *   same expression differently (`x IN ('a')` vs `x = ANY (ARRAY['a'::text])`);
 * - foreign keys with their ON DELETE action.
 */
export interface TableDescription {
  columns: { name: string; type: string; notNull: boolean; default: string | null }[];
  primaryKey: string[];
  unique: string[];
  foreignKeys: string[];
  checks: string[];
}

export interface IndexDescription {
  name: string;
  table: string;
  columns: string[];
  unique: boolean;
  where: string | null;
}

export interface SchemaDescription {
  tables: Record<string, TableDescription>;
  /** Named indexes (not those behind a primary key or UNIQUE constraint), by name. */
  indexes: IndexDescription[];
  /** Columns whose value the engine assigns: PostgreSQL identity columns; SQLite's INTEGER PRIMARY KEY of a rowid table. */
  autoKeys: string[];
  /** PostgreSQL: text columns in a key or an index that do not compare bytewise (COLLATE "C"); SQLite: always []. */
  keyTextNotBytewise: string[];
}

const TYPES: Record<string, string> = { text: 'text', integer: 'integer', bigint: 'integer', smallint: 'integer', blob: 'blob', bytea: 'blob', 'timestamp with time zone': 'timestamptz' };
const normaliseType = (t: string): string => TYPES[t.toLowerCase()] ?? `unknown:${t}`;
const normaliseDefault = (d: string | null): string | null => (d === null ? null : d.replace(/::[a-z ]+/g, '').replace(/^\((.*)\)$/, '$1'));

/** The columns an expression reads and the literals it compares with, order-free. */
function expressionShape(expr: string, columns: readonly string[]): string {
  const literals = [...expr.matchAll(/'([^']*)'/g)].map((m) => `'${m[1]}'`);
  const bare = expr.replace(/'[^']*'/g, ' ');
  const numbers = [...bare.matchAll(/\b\d+\b/g)].map((m) => m[0]);
  const words = new Set([...bare.matchAll(/[a-z_][a-z0-9_]*/gi)].map((m) => m[0]));
  const read = columns.filter((c) => words.has(c));
  return `${[...read].sort().join(',')}: ${[...literals, ...numbers].sort().join(',')}`;
}

/** The parenthesised bodies following each `CHECK` in a CREATE TABLE statement. */
function checkBodies(createSql: string): string[] {
  const bodies: string[] = [];
  for (const m of createSql.matchAll(/\bCHECK\s*\(/gi)) {
    let depth = 1;
    let i = (m.index as number) + m[0].length;
    const start = i;
    for (; i < createSql.length && depth > 0; i++) {
      if (createSql[i] === '(') depth++;
      else if (createSql[i] === ')') depth--;
    }
    bodies.push(createSql.slice(start, i - 1));
  }
  return bodies;
}

export function describeSchema(sql: Sql): Promise<SchemaDescription> {
  return sql.engine === 'sqlite' ? describeSqlite(sql) : describePostgres(sql);
}

async function describeSqlite(sql: Sql): Promise<SchemaDescription> {
  const tables: Record<string, TableDescription> = {};
  const autoKeys: string[] = [];
  const masters = await sql.all<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  for (const { name, sql: createSql } of masters) {
    const cols = await sql.all<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
      `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${name}') ORDER BY cid`,
    );
    const columnNames = cols.map((c) => c.name);
    const primaryKey = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const withoutRowid = /WITHOUT ROWID/i.test(createSql);
    if (!withoutRowid && primaryKey.length === 1 && cols.find((c) => c.name === primaryKey[0])?.type === 'INTEGER') autoKeys.push(`${name}.${primaryKey[0]}`);
    const unique: string[] = [];
    for (const idx of await sql.all<{ name: string; unique: number; origin: string }>(`SELECT name, "unique", origin FROM pragma_index_list('${name}')`)) {
      if (!idx.unique || idx.origin === 'pk') continue;
      unique.push((await sql.all<{ name: string }>(`SELECT name FROM pragma_index_info('${idx.name}') ORDER BY seqno`)).map((c) => c.name).join(','));
    }
    const fks = await sql.all<{ id: number; table: string; from: string; to: string; on_delete: string }>(
      `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list('${name}') ORDER BY id, seq`,
    );
    const foreignKeys = [...new Set(fks.map((f) => f.id))].map((id) => {
      const parts = fks.filter((f) => f.id === id);
      const first = parts[0] as (typeof parts)[number];
      return `(${parts.map((p) => p.from).join(',')}) -> ${first.table}(${parts.map((p) => p.to).join(',')}) on delete ${first.on_delete.toLowerCase()}`;
    });
    tables[name] = {
      columns: cols.map((c) => ({ name: c.name, type: normaliseType(c.type), notNull: c.notnull === 1 || c.pk > 0, default: normaliseDefault(c.dflt_value) })),
      primaryKey,
      unique: unique.sort(),
      foreignKeys: foreignKeys.sort(),
      checks: checkBodies(createSql).map((b) => expressionShape(b, columnNames)).sort(),
    };
  }
  const indexes: IndexDescription[] = [];
  for (const idx of await sql.all<{ name: string; table: string; sql: string }>(
    "SELECT name, tbl_name AS \"table\", sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
  )) {
    const columns = (await sql.all<{ name: string }>(`SELECT name FROM pragma_index_info('${idx.name}') ORDER BY seqno`)).map((c) => c.name);
    const where = /\bWHERE\b([\s\S]*)$/i.exec(idx.sql)?.[1];
    const columnNames = tables[idx.table]?.columns.map((c) => c.name) ?? [];
    indexes.push({ name: idx.name, table: idx.table, columns, unique: /^CREATE UNIQUE/i.test(idx.sql), where: where === undefined ? null : expressionShape(where, columnNames) });
  }
  return { tables, indexes, autoKeys: autoKeys.sort(), keyTextNotBytewise: [] };
}

async function describePostgres(sql: Sql): Promise<SchemaDescription> {
  const tables: Record<string, TableDescription> = {};
  const autoKeys: string[] = [];
  const names = (
    await sql.all<{ name: string }>(
      "SELECT table_name AS \"name\" FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name COLLATE \"C\"",
    )
  ).map((r) => r.name);
  // Columns of a constraint or index, in its order.
  const keyColumns = (array: string, relation: string) =>
    `(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(${array}) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = ${relation} AND a.attnum = k.attnum)`;
  for (const name of names) {
    const cols = await sql.all<{ name: string; type: string; nullable: string; default: string | null; identity: string }>(
      `SELECT column_name AS "name", data_type AS "type", is_nullable AS "nullable", column_default AS "default", is_identity AS "identity"
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position`,
      [name],
    );
    for (const c of cols) if (c.identity === 'YES') autoKeys.push(`${name}.${c.name}`);
    const constraints = await sql.all<{ type: string; columns: string; refTable: string | null; refColumns: string | null; onDelete: string; def: string }>(
      `SELECT c.contype AS "type", ${keyColumns('c.conkey', 'c.conrelid')} AS "columns",
              c.confrelid::regclass::text AS "refTable", ${keyColumns('c.confkey', 'c.confrelid')} AS "refColumns",
              c.confdeltype AS "onDelete", pg_get_constraintdef(c.oid) AS "def"
         FROM pg_constraint c WHERE c.conrelid = ?::regclass`,
      [name],
    );
    const uniqueIndexes = await sql.all<{ columns: string }>(
      `SELECT ${keyColumns('i.indkey::int2[]', 'i.indrelid')} AS "columns" FROM pg_index i
        WHERE i.indrelid = ?::regclass AND i.indisunique AND NOT i.indisprimary`,
      [name],
    );
    const onDelete: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };
    const columnNames = cols.map((c) => c.name);
    tables[name] = {
      columns: cols.map((c) => ({ name: c.name, type: normaliseType(c.type), notNull: c.nullable === 'NO', default: normaliseDefault(c.default) })),
      primaryKey: constraints.find((c) => c.type === 'p')?.columns.split(',') ?? [],
      unique: uniqueIndexes.map((u) => u.columns).sort(),
      foreignKeys: constraints
        .filter((c) => c.type === 'f')
        .map((c) => `(${c.columns}) -> ${c.refTable}(${c.refColumns}) on delete ${onDelete[c.onDelete]}`)
        .sort(),
      checks: constraints
        .filter((c) => c.type === 'c')
        .map((c) => expressionShape(c.def.replace(/^CHECK /, ''), columnNames))
        .sort(),
    };
  }
  const indexes = await sql.all<IndexDescription & { columns: string }>(
    `SELECT ic.relname AS "name", t.relname AS "table", ${keyColumns('i.indkey::int2[]', 'i.indrelid')} AS "columns", i.indisunique AS "unique",
            pg_get_expr(i.indpred, i.indrelid) AS "where"
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY ic.relname COLLATE "C"`,
  );
  const keyTextNotBytewise = await sql.all<{ column: string }>(
    `SELECT DISTINCT t.relname || '.' || a.attname AS "column"
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
      WHERE n.nspname = 'public' AND a.atttypid = 'text'::regtype AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')
      ORDER BY 1`,
  );
  return {
    tables,
    indexes: indexes.map((i) => ({
      ...i,
      columns: String(i.columns).split(','),
      where: i.where === null ? null : expressionShape(i.where, tables[i.table]?.columns.map((c) => c.name) ?? []),
    })),
    autoKeys: autoKeys.sort(),
    keyTextNotBytewise: keyTextNotBytewise.map((r) => r.column),
  };
}
