import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 004: per-minute terminal/failed deltas per rollout, and audit entries by subject. */
export const m004: PostgresMigration = {
  version: 4,
  name: 'dashboard',
  sql: `
  CREATE TABLE rollout_intervals (
    rollout_id  TEXT COLLATE "C" NOT NULL,
    minute      BIGINT NOT NULL,
    terminal    BIGINT NOT NULL,
    failures    BIGINT NOT NULL,
    PRIMARY KEY (rollout_id, minute)
  );
  CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
`,
};
