import type { Sql } from '../db/sql.js';
import { createInProcessChangeFeed, type ChangeFeed } from './change-feed.js';
import { createPostgresChangeFeed } from './postgres-change-feed.js';

export interface NodeChangeFeedOptions {
  /** The node's database (the composition root's Sql). */
  sql: Sql;
  /** OTA_DATABASE_URL: the PostgreSQL feed's LISTEN session connects here. Required with PostgreSQL. */
  databaseUrl: string | undefined;
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/**
 * The change feed that fits the engine (protocol §9): in-process for the
 * single SQLite process, LISTEN/NOTIFY plus the periodic read of `changes`
 * for nodes sharing PostgreSQL. Call at the composition root, outside any
 * transaction, then start() once the views are loaded.
 */
export function createNodeChangeFeed(opts: NodeChangeFeedOptions): ChangeFeed {
  if (opts.sql.engine === 'sqlite') return createInProcessChangeFeed(opts.sql, { ...(opts.onError ? { onError: opts.onError } : {}) });
  if (opts.databaseUrl === undefined) throw new Error('the PostgreSQL change feed needs the database URL for its LISTEN session');
  return createPostgresChangeFeed({
    sql: opts.sql,
    url: opts.databaseUrl,
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
