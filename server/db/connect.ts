import { checkDatabaseUrl } from './database-url.js';
import { openSqlite } from './open.js';
import { migratePostgres } from './postgres/migrate.js';
import { postgresSql, type PostgresOptions } from './postgres-sql.js';
import type { Sql } from './sql.js';
import type { CheckpointerOptions } from './wal-checkpointer.js';

export interface ConnectOptions extends Omit<PostgresOptions, 'url'> {
  /** OTA_DATABASE_URL: postgres:// or postgresql:// selects PostgreSQL; unset or empty selects SQLite. */
  url?: string | undefined;
  /** The SQLite file (the data folder's ota.db) used when there is no URL. */
  file: string;
  /** SQLite: WAL checkpoints on a thread of their own (a server); unset leaves them in commits (a command). */
  checkpointThread?: CheckpointerOptions;
}

/**
 * The one place that chooses the engine (issue 10 design §4, protocol §9):
 * PostgreSQL when a postgres:// URL is given — connected, then migrated
 * (several nodes starting together migrate once) — otherwise the SQLite
 * file, opened and migrated as always.
 */
export async function connectDatabase(opts: ConnectOptions): Promise<Sql> {
  const { url, file, checkpointThread, ...pool } = opts;
  if (url === undefined || url.trim() === '') return openSqlite(file, checkpointThread ? { checkpointThread } : {});
  checkDatabaseUrl(url);
  const sql = postgresSql({ ...pool, url });
  try {
    await migratePostgres(sql);
  } catch (e) {
    await sql.close().catch(() => {});
    throw e;
  }
  return sql;
}
