import type { Migration } from './index.js';

/**
 * protocol §7 fleet lifecycle: a withdrawn (yanked) release keeps its row;
 * the signed withdrawal statement (§8: its own log entry) marks it.
 */
export const releaseWithdrawal: Migration = {
  version: 13,
  name: 'release-withdrawal',
  up(db) {
    db.exec('ALTER TABLE releases ADD COLUMN withdrawal TEXT;');
  },
};
