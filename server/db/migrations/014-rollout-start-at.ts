import type { Migration } from './index.js';

/** protocol §7: a rollout created with `startAt` is started by the leader's health pass once it is due. */
export const rolloutStartAt: Migration = {
  version: 14,
  name: 'rollout-start-at',
  up(db) {
    db.exec('ALTER TABLE rollouts ADD COLUMN start_at INTEGER;');
  },
};
