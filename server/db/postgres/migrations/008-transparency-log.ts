import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 008: transparency-log entries in acceptance order and the hashes of complete subtrees (protocol §8). */
export const m008: PostgresMigration = {
  version: 8,
  name: 'transparency-log',
  sql: `
  CREATE TABLE log_entries (
    idx        BIGINT PRIMARY KEY,
    entry      TEXT NOT NULL,
    leaf_hash  BYTEA NOT NULL UNIQUE,
    logged_at  TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE log_nodes (
    level  INTEGER NOT NULL,
    idx    BIGINT NOT NULL,
    hash   BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
  );
`,
};
