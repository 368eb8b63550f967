import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 009: the newest witness cosignature per witness and tree size (protocol §8). */
export const m009: PostgresMigration = {
  version: 9,
  name: 'log-cosignatures',
  sql: `
  CREATE TABLE log_cosignatures (
    size     BIGINT NOT NULL,
    witness  TEXT COLLATE "C" NOT NULL,
    time     BIGINT NOT NULL,
    line     TEXT NOT NULL,
    PRIMARY KEY (size, witness)
  );
`,
};
