import type { Sql, SqlValue } from './sql.js';

/** A column of a row set: its SQL type on both engines. `bytes` travel as hex. */
export type RowSetType = 'text' | 'int' | 'bytes';

export type RowSetColumns = Readonly<Record<string, RowSetType>>;

const PG_TYPE: Record<RowSetType, string> = { text: 'text', int: 'bigint', bytes: 'text' };

/**
 * Many rows as ONE statement parameter, so a group commit writes a whole
 * group with a fixed number of statements instead of one per row (issue 20:
 * on PostgreSQL every statement is a network round trip). The rows travel
 * as one JSON array of objects; each engine unpacks it with its own table
 * function — PostgreSQL `json_to_recordset`, SQLite `json_each` — and that
 * difference stays here: stores write the rest of the statement once.
 *
 * `rowSet(sql, 'r', { id: 'text', seq: 'int' })` is SQL text for a FROM
 * item named `r` with those columns, taking one `?`; `rowSetParam(rows)`
 * is its value. A `bytes` column's value is a Buffer; read it with
 * `fromHex(sql, 'r.col')`. Column names are the caller's constants.
 */
export function rowSet(sql: Pick<Sql, 'engine'>, alias: string, columns: RowSetColumns): string {
  const names = Object.keys(columns);
  if (sql.engine === 'postgres') {
    return `json_to_recordset(?::json) AS ${alias}(${names.map((n) => `${n} ${PG_TYPE[columns[n] as RowSetType]}`).join(', ')})`;
  }
  // ->> gives SQLite's native type (text or integer); a JSON null is SQL NULL.
  return `(SELECT ${names.map((n) => `value ->> '${n}' AS ${n}`).join(', ')} FROM json_each(?)) AS ${alias}`;
}

/** The one parameter of a rowSet: the rows, Buffers as hex. */
export function rowSetParam(rows: readonly Readonly<Record<string, SqlValue | undefined>>[]): string {
  // Converted before stringify: JSON.stringify would first turn each Buffer into { type, data: [...] }
  // (an array of numbers per token digest), which cost twice the whole conversion.
  return JSON.stringify(rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const k in r) {
      const v = r[k];
      out[k] = Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? Number(v) : v;
    }
    return out;
  }));
}

/** SQL for a `bytes` column of a row set as the engine's binary value. */
export const fromHex = (sql: Pick<Sql, 'engine'>, column: string): string => (sql.engine === 'postgres' ? `decode(${column}, 'hex')` : `unhex(${column})`);

/**
 * Plain INSERT of many rows into `table` (its `columns`, each row's values
 * by column name): on PostgreSQL ONE statement over a row set, a round trip
 * per group instead of per row; on SQLite, in the same process, one prepared
 * single-row INSERT per row, which costs less than unpacking a JSON array
 * (measured in better-sqlite3: 19–25 µs per row against 28–39 µs through
 * `json_each` in groups of 4–16, JSON and hex included). Either way a
 * failing row fails the whole call, so the group commit's failure path
 * (server/db/group-commit.ts) is the same on both engines.
 */
export async function insertRows(sql: Sql, table: string, columns: RowSetColumns, rows: readonly Readonly<Record<string, SqlValue>>[]): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  if (sql.engine === 'postgres') {
    const values = names.map((n) => (columns[n] === 'bytes' ? fromHex(sql, `k.${n}`) : `k.${n}`));
    await sql.run(`INSERT INTO ${table} (${names.join(', ')}) SELECT ${values.join(', ')} FROM ${rowSet(sql, 'k', columns)}`, [rowSetParam(rows)]);
    return;
  }
  const text = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
  for (const r of rows) await sql.run(text, names.map((n) => r[n] ?? null));
}

/**
 * `INSERT … SELECT … ON CONFLICT`: SQLite needs a WHERE before ON CONFLICT
 * after a SELECT (its parser would otherwise read ON as a join
 * constraint); PostgreSQL accepts the same text.
 */
export const SELECT_ALL_ROWS = 'WHERE true';
