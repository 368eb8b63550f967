import { afterEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError } from '../../server/db/migrations/index.js';
import { migratePostgres } from '../../server/db/postgres/migrate.js';
import { postgresMigrations } from '../../server/db/postgres/migrations/index.js';
import { postgresSql } from '../../server/db/postgres-sql.js';
import type { Sql } from '../../server/db/sql.js';
import { createEmptyPostgresDatabase, createTestDatabase, type TestDatabase } from '../helpers/database.js';

const latest = (postgresMigrations[postgresMigrations.length - 1] as { version: number }).version;

describe('PostgreSQL migrations', () => {
  const opened: { drop?: () => Promise<void>; close?: () => Promise<void> }[] = [];
  const track = <T extends { drop?: () => Promise<void>; close?: () => Promise<void> }>(x: T): T => (opened.push(x), x);
  afterEach(async () => {
    // Extra pools first, then the databases they point at.
    for (const x of opened.reverse()) await (x.close ? x.close() : x.drop?.());
    opened.length = 0;
  });
  const versions = (sql: Sql) => sql.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  const all = postgresMigrations.map((m) => ({ version: m.version }));

  it('numbers its migrations like the SQLite ones, 1 to n without gaps', () => {
    expect(postgresMigrations.map((m) => m.version)).toEqual(postgresMigrations.map((_, i) => i + 1));
  });

  it('applies every migration once, and again changes nothing', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    expect(await migratePostgres(sql)).toBe(latest);
    expect(await versions(sql)).toEqual(all);
    await sql.run("INSERT INTO releases (id, manifest_sha256, envelope, issued_at, published_at, published_by) VALUES ('r', 'h', '{}', 'i', 'p', 'b')");
    expect(await migratePostgres(sql)).toBe(latest);
    expect(await versions(sql)).toEqual(all);
    expect(await sql.value('SELECT COUNT(*) FROM releases')).toBe(1);
  });

  it('migrates once when several nodes start together', async () => {
    const db: TestDatabase = track(await createEmptyPostgresDatabase());
    const nodes = [db.sql, ...Array.from({ length: 3 }, () => track(postgresSql({ url: db.url, poolSize: 2 })))];
    expect(await Promise.all(nodes.map((n) => migratePostgres(n)))).toEqual(nodes.map(() => latest));
    expect(await versions(db.sql)).toEqual(all);
  });

  it('applies only the missing migrations to a database at an older version', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    await migratePostgres(sql, postgresMigrations.slice(0, 4));
    expect(await versions(sql)).toEqual(all.slice(0, 4));
    await migratePostgres(sql);
    expect(await versions(sql)).toEqual(all);
    expect(await sql.value("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'log_cosignatures'")).toBe(1);
  });

  it('refuses a database written by newer code and leaves it alone', async () => {
    const { sql } = track(await createTestDatabase('postgres'));
    await sql.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from-the-future', 0)", [latest + 1]);
    await expect(migratePostgres(sql)).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(migratePostgres(sql)).rejects.toThrow(`v${latest + 1} is newer than this server (v${latest})`);
    expect(await sql.value('SELECT COUNT(*) FROM schema_migrations')).toBe(latest + 1);
  });

  it('rolls a failing migration back whole, its version row with it', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    const broken = [...postgresMigrations, { version: latest + 1, name: 'broken', sql: 'CREATE TABLE half (a INTEGER); SELECT no_such_function();' }];
    await expect(migratePostgres(sql, broken)).rejects.toThrow();
    expect(await versions(sql)).toEqual(all);
    expect(await sql.value("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'half'")).toBe(0);
  });

  // `changes` (the change feed of several nodes, PG 010) exists only on PostgreSQL: one SQLite process feeds itself in memory.
  it('builds the same schema as SQLite: tables, columns, nullability, primary keys, named indexes', async () => {
    const sqlite = track(await createTestDatabase('sqlite')).sql;
    const postgres = track(await createTestDatabase('postgres')).sql;

    const liteTables = (await sqlite.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")).map((r) => r.name);
    const pgTables = (
      await postgres.all<{ name: string }>(
        "SELECT table_name AS \"name\" FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations', 'changes') ORDER BY table_name",
      )
    ).map((r) => r.name);
    expect(pgTables).toEqual(liteTables);
    expect(liteTables.length).toBeGreaterThan(10);

    for (const table of liteTables) {
      const lite = await sqlite.all<{ name: string; notnull: number; pk: number }>(`SELECT name, "notnull", pk FROM pragma_table_info('${table}') ORDER BY cid`);
      const pgColumns = await postgres.all<{ name: string; nullable: string }>(
        'SELECT column_name AS "name", is_nullable AS "nullable" FROM information_schema.columns WHERE table_schema = \'public\' AND table_name = ? ORDER BY ordinal_position',
        [table],
      );
      expect(pgColumns.map((c) => c.name), table).toEqual(lite.map((c) => c.name));
      // Primary key columns are NOT NULL in PostgreSQL whatever SQLite declares; the others must agree.
      const nullable = (cols: { name: string; nullable: boolean }[]) => cols.filter((c) => !lite.find((l) => l.name === c.name)?.pk).map((c) => `${c.name}:${c.nullable}`);
      expect(nullable(pgColumns.map((c) => ({ name: c.name, nullable: c.nullable === 'YES' }))), table).toEqual(
        nullable(lite.map((c) => ({ name: c.name, nullable: c.notnull === 0 }))),
      );
      const litePk = lite.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      const pgPk = (
        await postgres.all<{ name: string }>(
          `SELECT k.column_name AS "name" FROM information_schema.table_constraints c
             JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_name = c.table_name
            WHERE c.table_schema = 'public' AND c.table_name = ? AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position`,
          [table],
        )
      ).map((r) => r.name);
      expect(pgPk, table).toEqual(litePk);
    }

    const liteIndexes = (await sqlite.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")).map((r) => r.name);
    const pgIndexes = (
      await postgres.all<{ name: string }>(
        "SELECT indexname AS \"name\" FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' AND tablename <> 'changes' ORDER BY indexname",
      )
    ).map((r) => r.name);
    expect(pgIndexes).toEqual(liteIndexes);
  });
});
