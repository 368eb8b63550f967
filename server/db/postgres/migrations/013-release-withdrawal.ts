import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 013: the signed withdrawal statement of a withdrawn release (protocol §7, §8); null while it may be offered. */
export const m013: PostgresMigration = {
  version: 13,
  name: 'release-withdrawal',
  sql: `
  ALTER TABLE releases ADD COLUMN withdrawal TEXT;
`,
};
