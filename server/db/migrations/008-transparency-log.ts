import type { Migration } from './index.js';

/**
 * protocol §8 transparency log. `log_entries` keeps every entry's bytes (the
 * JCS of the envelope as served) in acceptance order; `log_nodes` keeps the
 * hash of every complete, aligned subtree (level 0 = leaf hashes), so a
 * checkpoint, an inclusion path or a consistency proof costs O(log n)
 * reads. Leaf hashes are unique: the same document is never logged twice.
 */
export const transparencyLog: Migration = {
  version: 8,
  name: 'transparency-log',
  sqlite: `
    CREATE TABLE log_entries (
      idx        INTEGER PRIMARY KEY,
      entry      TEXT NOT NULL,
      leaf_hash  BLOB NOT NULL UNIQUE,
      logged_at  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE log_nodes (
      level  INTEGER NOT NULL,
      idx    INTEGER NOT NULL,
      hash   BLOB NOT NULL,
      PRIMARY KEY (level, idx)
    ) STRICT, WITHOUT ROWID;
  `,
  postgres: `
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
