import { migrations, SchemaHistoryError, SchemaTooNewError, type Migration } from '../migrations/index.js';
import type { Sql } from '../sql.js';
import { ADVISORY_LOCK } from '../../cluster/advisory-locks.js';

/**
 * Before the two engines shared one list, PostgreSQL numbered its change
 * feed 10 while SQLite's 10 was the setting-counter separator. In the one
 * list the separator is 10 (nothing to do on PostgreSQL) and the change
 * feed 11. A database migrated by that older code holds exactly the list's
 * 1–9 and 11, with the row (10, 'change-feed'): that row moves to 11, and
 * 10 is recorded as applied, which it is — it has no PostgreSQL statements.
 * Keyed on the recorded name, so it happens once and never to a database
 * migrated by the one list.
 */
const PRE_MERGE_CHANGE_FEED = { version: 10, name: 'change-feed', becomes: 11, filled: 'setting-counter-separator' } as const;

async function adoptPreMergeHistory(sql: Sql): Promise<void> {
  const { version, name, becomes, filled } = PRE_MERGE_CHANGE_FEED;
  if ((await sql.value<string>('SELECT name FROM schema_migrations WHERE version = ?', [version])) !== name) return;
  await sql.run('UPDATE schema_migrations SET version = ? WHERE version = ?', [becomes, version]);
  await sql.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [version, filled, Date.now()]);
}

/**
 * Applies every migration of the list above the database's version (their
 * `postgres` form), each in its own transaction with its `schema_migrations`
 * row, under one advisory lock per transaction: a node that starts while
 * another migrates waits, then sees the version row and skips. Refuses a
 * database written by newer code, and one whose recorded history names a
 * different change than the list at the same version. Returns the version
 * the code knows.
 */
export async function migratePostgres(sql: Sql, list: readonly Migration[] = migrations): Promise<number> {
  if (sql.engine !== 'postgres') throw new Error('migratePostgres needs the PostgreSQL engine');
  const latest = list.length ? (list[list.length - 1] as Migration).version : 0;
  const applied = async (): Promise<number> => {
    await sql.lockUntilCommit(ADVISORY_LOCK.migrations);
    const rows = await sql.all<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    const current = rows.length ? (rows[rows.length - 1] as { version: number }).version : 0;
    if (current > latest) {
      throw new SchemaTooNewError(`database schema v${current} is newer than this server (v${latest}); refusing to open it`);
    }
    for (const row of rows) {
      const expected = list.find((m) => m.version === row.version)?.name;
      if (expected !== row.name) {
        throw new SchemaHistoryError(`database schema v${row.version} is '${row.name}' but this server's v${row.version} is '${expected ?? 'missing'}'; refusing to open it`);
      }
    }
    return current;
  };
  await sql.transaction(async () => {
    await sql.lockUntilCommit(ADVISORY_LOCK.migrations);
    await sql.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    if (latest >= PRE_MERGE_CHANGE_FEED.becomes) await adoptPreMergeHistory(sql);
    await applied();
  });
  for (const m of list) {
    await sql.transaction(async () => {
      if (m.version <= (await applied())) return;
      if (m.postgres.trim() !== '') await sql.exec(m.postgres);
      await sql.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()]);
    });
  }
  return latest;
}
