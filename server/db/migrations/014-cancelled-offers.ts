import type { Migration } from './index.js';

/**
 * protocol §7 fleet lifecycle, cancel-update: an operator withdrew a
 * rollout's offer to one device. Kept apart from the device's reported
 * state: the poll path must never offer it again, whatever the device says.
 */
export const cancelledOffers: Migration = {
  version: 14,
  name: 'cancelled-offers',
  sqlite: `
    CREATE TABLE cancelled_offers (
      rollout_id    TEXT NOT NULL,
      device_id     TEXT NOT NULL,
      cancelled_at  INTEGER NOT NULL,
      cancelled_by  TEXT NOT NULL,
      PRIMARY KEY (rollout_id, device_id)
    ) STRICT, WITHOUT ROWID;
  `,
  postgres: `
    CREATE TABLE cancelled_offers (
      rollout_id    TEXT COLLATE "C" NOT NULL,
      device_id     TEXT COLLATE "C" NOT NULL,
      cancelled_at  BIGINT NOT NULL,
      cancelled_by  TEXT NOT NULL,
      PRIMARY KEY (rollout_id, device_id)
    );
  `,
};
