import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 003: status pages a rollout's devices by (state, device_id); the timeout sweep reads in-progress devices only. */
export const m003: PostgresMigration = {
  version: 3,
  name: 'status-indexes',
  sql: `
  DROP INDEX rollout_devices_by_state;
  CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, device_id);
  CREATE INDEX rollout_devices_in_progress ON rollout_devices (rollout_id, state_at)
    WHERE state IN ('received', 'downloading', 'downloaded', 'installing');
`,
};
