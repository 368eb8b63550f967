import type { Migration } from './index.js';

/**
 * What the QA dashboard (issue 11, protocol §10) reads that was not kept yet:
 * - rollout_intervals: per rollout and per minute, the net change in terminal
 *   and failed devices, written in the report transaction (one upsert per
 *   terminal move), so the failure rate over time is a sum, never a scan of reports.
 * - audit_log_by_subject: a rollout's own entries (why it halted) without
 *   walking the whole log.
 */
export const dashboard: Migration = {
  version: 4,
  name: 'dashboard',
  sqlite: `
    CREATE TABLE rollout_intervals (
      rollout_id  TEXT NOT NULL,
      minute      INTEGER NOT NULL,
      terminal    INTEGER NOT NULL,
      failures    INTEGER NOT NULL,
      PRIMARY KEY (rollout_id, minute)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);

  `,
  postgres: `
    CREATE TABLE rollout_intervals (
      rollout_id  TEXT COLLATE "C" NOT NULL,
      minute      BIGINT NOT NULL,
      terminal    BIGINT NOT NULL,
      failures    BIGINT NOT NULL,
      PRIMARY KEY (rollout_id, minute)
    );
    CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
  `,
};
