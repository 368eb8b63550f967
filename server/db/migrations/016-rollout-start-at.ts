import type { Migration } from './index.js';

/** protocol §7: when a draft rollout starts by itself (`startAt`, epoch ms), started by the leader's health pass; null = by hand. */
export const rolloutStartAt: Migration = {
  version: 16,
  name: 'rollout-start-at',
  sqlite: 'ALTER TABLE rollouts ADD COLUMN start_at INTEGER;',
  postgres: 'ALTER TABLE rollouts ADD COLUMN start_at BIGINT;',
};
