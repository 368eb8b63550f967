import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 005: a rollout's latest halt and the resume that overruled it (JSON, null when it never happened). */
export const m005: PostgresMigration = {
  version: 5,
  name: 'rollout-halt-record',
  sql: `
  ALTER TABLE rollouts ADD COLUMN last_halt TEXT;
  ALTER TABLE rollouts ADD COLUMN overruled_halt TEXT;
`,
};
