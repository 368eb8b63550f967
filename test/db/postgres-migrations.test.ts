import { afterEach, describe, expect, it } from 'vitest';
import { migrations, SchemaHistoryError, SchemaTooNewError, type Migration } from '../../server/db/migrations/index.js';
import { migratePostgres } from '../../server/db/postgres/migrate.js';
import { postgresSql } from '../../server/db/postgres-sql.js';
import type { Sql } from '../../server/db/sql.js';
import { createEmptyPostgresDatabase, createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { describeSchema, type SchemaDescription } from '../helpers/schema-description.js';

const latest = (migrations[migrations.length - 1] as Migration).version;

/**
 * Frozen copy of PostgreSQL migration 010 as shipped before the two engines'
 * lists were merged (server/db/postgres/migrations/010-change-feed.ts): the
 * change feed, numbered 10 where SQLite's 10 was the counter separator.
 * Never edit: it is what databases in the field were built with.
 */
const PRE_MERGE_010: Migration = {
  version: 10,
  name: 'change-feed',
  sqlite: '',
  postgres: `
CREATE TABLE changes (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text COLLATE "C" NOT NULL,
  key text COLLATE "C",
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_at ON changes (at);
`,
};
/** The PostgreSQL list before the merge: 1–9 as today, then the change feed as 10. */
const preMergeList: readonly Migration[] = [...migrations.filter((m) => m.version <= 9), PRE_MERGE_010];

describe('PostgreSQL migrations', () => {
  const opened: { drop?: () => Promise<void>; close?: () => Promise<void> }[] = [];
  const track = <T extends { drop?: () => Promise<void>; close?: () => Promise<void> }>(x: T): T => (opened.push(x), x);
  afterEach(async () => {
    // Extra pools first, then the databases they point at.
    for (const x of opened.reverse()) await (x.close ? x.close() : x.drop?.());
    opened.length = 0;
  });
  const history = (sql: Sql) => sql.all<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
  const versions = async (sql: Sql) => (await history(sql)).map((r) => ({ version: r.version }));
  const all = migrations.map((m) => ({ version: m.version }));

  it('applies every migration once, and again changes nothing', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    expect(await migratePostgres(sql)).toBe(latest);
    expect(await history(sql)).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
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
    await migratePostgres(sql, migrations.slice(0, 4));
    expect(await versions(sql)).toEqual(all.slice(0, 4));
    await migratePostgres(sql);
    expect(await versions(sql)).toEqual(all);
    expect(await sql.value("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'log_cosignatures'")).toBe(1);
  });

  it('upgrades a database built by the pre-merge list (change feed as v10): renumbered, nothing rebuilt, its rows kept', async () => {
    const db: TestDatabase = track(await createEmptyPostgresDatabase());
    expect(await migratePostgres(db.sql, preMergeList)).toBe(10);
    expect(await history(db.sql)).toContainEqual({ version: 10, name: 'change-feed' });
    await db.sql.run("INSERT INTO changes (topic, key) VALUES ('rollout', 'r1')");
    await db.sql.run("INSERT INTO rollout_counters (rollout_id, key, value) VALUES ('r1', 'setting:a\u001fb\u001fpolicy', 4)");
    // Several nodes of the new code start on it together: the history is rewritten once.
    const nodes = [db.sql, ...Array.from({ length: 2 }, () => track(postgresSql({ url: db.url, poolSize: 2 })))];
    expect(await Promise.all(nodes.map((n) => migratePostgres(n)))).toEqual(nodes.map(() => latest));
    expect(await history(db.sql)).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
    expect(await db.sql.all('SELECT seq, topic, key FROM changes')).toEqual([{ seq: 1, topic: 'rollout', key: 'r1' }]);
    expect(await db.sql.value("INSERT INTO changes (topic, key) VALUES ('log', NULL) RETURNING seq")).toBe(2);
    expect(await db.sql.value('SELECT value FROM rollout_counters')).toBe(4);
    // And it is now exactly what the one list builds from nothing.
    const fresh = track(await createEmptyPostgresDatabase());
    await migratePostgres(fresh.sql);
    expect(await describeSchema(db.sql)).toEqual(await describeSchema(fresh.sql));
  });

  it('code from before the merge refuses a database the one list has migrated (v11 is newer than it)', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    await migratePostgres(sql);
    await expect(migratePostgres(sql, preMergeList)).rejects.toBeInstanceOf(SchemaTooNewError);
  });

  it('refuses a database whose history names another change at a version of the list, and leaves it alone', async () => {
    const { sql } = track(await createEmptyPostgresDatabase());
    await migratePostgres(sql, migrations.slice(0, 3));
    await sql.run("UPDATE schema_migrations SET name = 'something-else' WHERE version = 3");
    await expect(migratePostgres(sql)).rejects.toBeInstanceOf(SchemaHistoryError);
    await expect(migratePostgres(sql)).rejects.toThrow("v3 is 'something-else' but this server's v3 is 'status-indexes'");
    expect(await versions(sql)).toEqual(all.slice(0, 3));
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
    const broken: Migration[] = [...migrations, { version: latest + 1, name: 'broken', sqlite: '', postgres: 'CREATE TABLE half (a INTEGER); SELECT no_such_function();' }];
    await expect(migratePostgres(sql, broken)).rejects.toThrow();
    expect(await versions(sql)).toEqual(all);
    expect(await sql.value("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'half'")).toBe(0);
  });

  it('builds the same schema as SQLite: tables, column types, defaults, nullability, keys, unique, foreign-key and check constraints, indexes', async () => {
    const sqlite = track(await createTestDatabase('sqlite')).sql;
    const postgres = track(await createTestDatabase('postgres')).sql;
    const lite: SchemaDescription = await describeSchema(sqlite);
    const pg: SchemaDescription = await describeSchema(postgres);
    // `changes` (011) has no SQLite table: the one SQLite process keeps its feed's pending changes in a TEMP table.
    delete pg.tables.changes;
    expect(Object.keys(lite.tables).length).toBeGreaterThan(10);
    expect(Object.keys(pg.tables)).toEqual(Object.keys(lite.tables));
    for (const [name, table] of Object.entries(lite.tables)) expect(pg.tables[name], name).toEqual(table);
    expect(pg.indexes.filter((i) => i.table !== 'changes')).toEqual(lite.indexes);
    // Every key PostgreSQL assigns itself SQLite assigns too (a rowid alias). SQLite's other rowid
    // aliases (audit_log.seq, log_entries.idx, trust_binding.id) are always written by the code.
    expect(lite.autoKeys).toEqual(expect.arrayContaining(pg.autoKeys.filter((k) => !k.startsWith('changes.'))));
    expect(pg.autoKeys).toContain('operator_tokens.id');
    // Keys and indexed text compare bytewise on both engines (SQLite's BINARY, PostgreSQL's "C"), so ids sort alike.
    expect(pg.keyTextNotBytewise).toEqual([]);
  });
});
