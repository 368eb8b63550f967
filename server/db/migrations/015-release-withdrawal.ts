import type { Migration } from './index.js';

/**
 * protocol §7 fleet lifecycle: a withdrawn (yanked) release keeps its row;
 * the signed withdrawal statement (§8: its own log entry) marks it, null
 * while the release may be offered.
 */
export const releaseWithdrawal: Migration = {
  version: 15,
  name: 'release-withdrawal',
  sqlite: 'ALTER TABLE releases ADD COLUMN withdrawal TEXT;',
  postgres: 'ALTER TABLE releases ADD COLUMN withdrawal TEXT;',
};
