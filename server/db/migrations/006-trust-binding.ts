import type { Migration } from './index.js';

/**
 * A data folder remembers the trust root it was created under (issue 9):
 * one row with the chain's anchor (SHA-256 of JCS of root v1's signed
 * body), root v1's root keyids and the newest root version served.
 */
export const trustBinding: Migration = {
  version: 6,
  name: 'trust-binding',
  sqlite: `
    CREATE TABLE trust_binding (
      id           INTEGER PRIMARY KEY CHECK (id = 1),
      anchor       TEXT NOT NULL,
      root_keyids  TEXT NOT NULL,
      version      INTEGER NOT NULL,
      bound_at     TEXT NOT NULL
    ) STRICT;

  `,
  postgres: `
    CREATE TABLE trust_binding (
      id           INTEGER PRIMARY KEY CHECK (id = 1),
      anchor       TEXT COLLATE "C" NOT NULL,
      root_keyids  TEXT NOT NULL,
      version      BIGINT NOT NULL,
      bound_at     TEXT COLLATE "C" NOT NULL
    );
  `,
};
