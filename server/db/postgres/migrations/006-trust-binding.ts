import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 006: the trust root the state was created under (one row). */
export const m006: PostgresMigration = {
  version: 6,
  name: 'trust-binding',
  sql: `
  CREATE TABLE trust_binding (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    anchor       TEXT COLLATE "C" NOT NULL,
    root_keyids  TEXT NOT NULL,
    version      BIGINT NOT NULL,
    bound_at     TEXT COLLATE "C" NOT NULL
  );
`,
};
