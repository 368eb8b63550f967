import type { Migration } from './index.js';

/**
 * protocol §7 fleet lifecycle: a decommissioned device keeps its row and
 * history for the record; the time it was decommissioned (epoch ms) marks
 * it, null while in service. Only an enrollment credential brings it back.
 */
export const deviceDecommission: Migration = {
  version: 13,
  name: 'device-decommission',
  sqlite: 'ALTER TABLE devices ADD COLUMN decommissioned_at INTEGER;',
  postgres: 'ALTER TABLE devices ADD COLUMN decommissioned_at BIGINT;',
};
