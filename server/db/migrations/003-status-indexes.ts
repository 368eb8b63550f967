import type { Migration } from './index.js';

/**
 * The bench showed status taking 0.5 s at 1M devices: paging a rollout's
 * devices by state (and the silent sample, state IS NULL) sorted on
 * device_id, which the (state, state_at) index could not give, so SQLite
 * walked the primary key. Paging gets (rollout_id, state, device_id); the
 * timeout sweep gets a partial index over in-progress devices only.
 */
export const statusIndexes: Migration = {
  version: 3,
  name: 'status-indexes',
  sqlite: `
    DROP INDEX rollout_devices_by_state;
    CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, device_id);
    CREATE INDEX rollout_devices_in_progress ON rollout_devices (rollout_id, state_at)
      WHERE state IN ('received', 'downloading', 'downloaded', 'installing');

  `,
  postgres: `
    DROP INDEX rollout_devices_by_state;
    CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, device_id);
    CREATE INDEX rollout_devices_in_progress ON rollout_devices (rollout_id, state_at)
      WHERE state IN ('received', 'downloading', 'downloaded', 'installing');
  `,
};
