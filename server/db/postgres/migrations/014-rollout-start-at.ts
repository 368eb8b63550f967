import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 014: when a draft rollout starts by itself (protocol §7 `startAt`, epoch ms); null = started by hand. */
export const m014: PostgresMigration = {
  version: 14,
  name: 'rollout-start-at',
  sql: `
  ALTER TABLE rollouts ADD COLUMN start_at BIGINT;
`,
};
