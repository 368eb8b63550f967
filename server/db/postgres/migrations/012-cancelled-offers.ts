import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 012: offers an operator withdrew from one device (protocol §7 cancel-update). */
export const m012: PostgresMigration = {
  version: 12,
  name: 'cancelled-offers',
  sql: `
  CREATE TABLE cancelled_offers (
    rollout_id    TEXT COLLATE "C" NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    cancelled_at  BIGINT NOT NULL,
    cancelled_by  TEXT NOT NULL,
    PRIMARY KEY (rollout_id, device_id)
  );
`,
};
