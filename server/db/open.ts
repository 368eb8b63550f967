import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrate } from './migrations/index.js';
import type { Sql } from './sql.js';
import { sqliteSql } from './sqlite-sql.js';

export type Db = Database.Database;

/**
 * Opens the database the way every path needs it: WAL so readers never wait
 * for the writer, synchronous=FULL so a commit the server acknowledged
 * survives a power cut, foreign keys on, then migrations.
 */
export function openDatabase(file: string): Db {
  // Tokens' hashes, device tokens' hashes and every report live here: owner-only, also when the file
  // or its folder already existed with a wider mode. SQLite gives -wal and -shm the main file's mode.
  if (existsSync(file)) chmodSync(file, 0o600);
  else closeSync(openSync(file, 'a', 0o600));
  for (const side of [`${file}-wal`, `${file}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 64 MiB of page cache (default 2 MiB): device rows and their token index stay hot at fleet scale.
  db.pragma('cache_size = -65536');
  migrate(db);
  return db;
}

/**
 * The SQLite engine behind the async Sql interface, on a migrated database
 * file (or ':memory:' for tests): what every store takes.
 */
export function openSqlite(file: string): Sql {
  return sqliteSql(openDatabase(file));
}
