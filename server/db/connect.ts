import { checkDatabaseUrl } from './database-url.js';
import { openDatabase } from './open.js';
import { migratePostgres } from './postgres/migrate.js';
import { postgresSql, type PostgresOptions } from './postgres-sql.js';
import type { Sql } from './sql.js';
import { sqliteSql } from './sqlite-sql.js';

export interface ConnectOptions extends Omit<PostgresOptions, 'url'> {
  /** OTA_DATABASE_URL: postgres:// or postgresql:// selects PostgreSQL; unset or empty selects SQLite. */
  url?: string | undefined;
  /** The SQLite file (the data folder's ota.db) used when there is no URL. */
  file: string;
}

/**
 * The one place that chooses the engine (issue 10 design §4, protocol §9):
 * PostgreSQL when a postgres:// URL is given — connected, then migrated
 * (several nodes starting together migrate once) — otherwise the SQLite
 * file, opened and migrated as always.
 */
export async function connectDatabase(opts: ConnectOptions): Promise<Sql> {
  const { url, file, ...pool } = opts;
  if (url === undefined || url.trim() === '') return sqliteSql(openDatabase(file));
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
