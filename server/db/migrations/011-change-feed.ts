import type { Migration } from './index.js';

/**
 * The change feed of several nodes (protocol §9, server/cluster/
 * postgres-change-feed.ts): one row per committed change, written in the
 * changing transaction under pg_advisory_xact_lock so seq order is commit
 * order; pruned by the leader once no node can still be behind it.
 * SQLite: nothing — one process per file, whose feed keeps a transaction's
 * pending changes in a connection-local TEMP table it creates itself and
 * hands them over on commit (server/cluster/change-feed.ts): nothing to
 * persist, since no other process ever reads them.
 *
 * PostgreSQL databases migrated before the two histories were merged
 * recorded this as version 10; the migrator renumbers that row (RENUMBERED
 * in ./index.ts).
 */
export const changeFeed: Migration = {
  version: 11,
  name: 'change-feed',
  sqlite: '',
  postgres: `
    CREATE TABLE changes (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      topic text COLLATE "C" NOT NULL,
      key text COLLATE "C",
      at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX changes_at ON changes (at);
  `,
};
