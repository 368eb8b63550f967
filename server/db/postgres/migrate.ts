import { SchemaTooNewError } from '../migrations/index.js';
import type { Sql } from '../sql.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../../cluster/advisory-locks.js';
import { postgresMigrations } from './migrations/index.js';

/** One PostgreSQL schema step; numbered like the SQLite migrations it mirrors (design §3). */
export interface PostgresMigration {
  version: number;
  name: string;
  /** Schema statements without parameters, run in one transaction. */
  sql: string;
}

/**
 * Applies every migration above the database's version, each in its own
 * transaction with its `schema_migrations` row, under one advisory lock per
 * transaction: a node that starts while another migrates waits, then sees
 * the version row and skips. Refuses a database written by newer code.
 * Returns the version the code knows.
 */
export async function migratePostgres(sql: Sql, list: readonly PostgresMigration[] = postgresMigrations): Promise<number> {
  if (sql.engine !== 'postgres') throw new Error('migratePostgres needs the PostgreSQL engine');
  const latest = list.length ? (list[list.length - 1] as PostgresMigration).version : 0;
  const applied = async (): Promise<number> => {
    await holdUntilCommit(sql, ADVISORY_LOCK.migrations);
    const current = (await sql.value<number>('SELECT COALESCE(MAX(version), 0) FROM schema_migrations')) ?? 0;
    if (current > latest) {
      throw new SchemaTooNewError(`database schema v${current} is newer than this server (v${latest}); refusing to open it`);
    }
    return current;
  };
  await sql.transaction(async () => {
    await holdUntilCommit(sql, ADVISORY_LOCK.migrations);
    await sql.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    await applied();
  });
  for (const m of list) {
    await sql.transaction(async () => {
      if (m.version <= (await applied())) return;
      await sql.exec(m.sql);
      await sql.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()]);
    });
  }
  return latest;
}
