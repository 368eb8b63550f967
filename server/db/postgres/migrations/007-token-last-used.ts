import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 007: when each operator token was last used (written behind in batches). */
export const m007: PostgresMigration = {
  version: 7,
  name: 'token-last-used',
  sql: `
  ALTER TABLE operator_tokens ADD COLUMN last_used_at TEXT COLLATE "C";
`,
};
