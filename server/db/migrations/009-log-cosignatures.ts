import type { Migration } from './index.js';

/**
 * Witness cosignatures (C2SP tlog-cosignature/v1) on transparency-log
 * checkpoints, the newest per witness and tree size; served with the
 * checkpoint of that size (protocol §8 signed notes carry extra lines).
 */
export const logCosignatures: Migration = {
  version: 9,
  name: 'log-cosignatures',
  sqlite: `
    CREATE TABLE log_cosignatures (
      size     INTEGER NOT NULL,
      witness  TEXT NOT NULL,
      time     INTEGER NOT NULL,
      line     TEXT NOT NULL,
      PRIMARY KEY (size, witness)
    ) STRICT, WITHOUT ROWID;

  `,
  postgres: `
    CREATE TABLE log_cosignatures (
      size     BIGINT NOT NULL,
      witness  TEXT COLLATE "C" NOT NULL,
      time     BIGINT NOT NULL,
      line     TEXT NOT NULL,
      PRIMARY KEY (size, witness)
    );
  `,
};
