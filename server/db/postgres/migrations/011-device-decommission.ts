import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 011: when a device was decommissioned (protocol §7 fleet lifecycle); null while in service. */
export const m011: PostgresMigration = {
  version: 11,
  name: 'device-decommission',
  sql: `
  ALTER TABLE devices ADD COLUMN decommissioned_at BIGINT;
`,
};
