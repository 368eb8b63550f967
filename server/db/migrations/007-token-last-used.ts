import type { Migration } from './index.js';

/**
 * `GET /v1/tokens` shows when each operator token was last used (issue 9).
 * Written behind in batches (server/auth/token-usage.ts), never on a
 * request's path.
 */
export const tokenLastUsed: Migration = {
  version: 7,
  name: 'token-last-used',
  sqlite: `
    ALTER TABLE operator_tokens ADD COLUMN last_used_at TEXT;
  `,
  postgres: `
    ALTER TABLE operator_tokens ADD COLUMN last_used_at TEXT COLLATE "C";
  `,
};
