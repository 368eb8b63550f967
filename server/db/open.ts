import Database from 'better-sqlite3';
import { migrate } from './migrations/index.js';

export type Db = Database.Database;

/**
 * Opens the database the way every path needs it: WAL so readers never wait
 * for the writer, synchronous=FULL so a commit the server acknowledged
 * survives a power cut, foreign keys on, then migrations.
 */
export function openDatabase(file: string): Db {
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
