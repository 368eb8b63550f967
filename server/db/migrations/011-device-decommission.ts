import type { Migration } from './index.js';

/**
 * protocol §7 fleet lifecycle: a decommissioned device keeps its row and
 * history for the record; the time it was decommissioned marks it, and
 * only an enrollment credential may bring the id back.
 */
export const deviceDecommission: Migration = {
  version: 11,
  name: 'device-decommission',
  up(db) {
    db.exec('ALTER TABLE devices ADD COLUMN decommissioned_at INTEGER;');
  },
};
