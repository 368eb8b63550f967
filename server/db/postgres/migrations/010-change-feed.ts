import type { PostgresMigration } from '../migrate.js';

/**
 * The change feed of several nodes (protocol §9, server/cluster/
 * postgres-change-feed.ts): one row per committed change, written in the
 * changing transaction under pg_advisory_xact_lock so seq order is commit
 * order. PostgreSQL only: a single SQLite process feeds itself in memory.
 * Rows are pruned by the leader after they can no longer be unread.
 */
export const m010: PostgresMigration = {
  version: 10,
  name: 'change-feed',
  sql: `
CREATE TABLE changes (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text COLLATE "C" NOT NULL,
  key text COLLATE "C",
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_at ON changes (at);
`,
};
