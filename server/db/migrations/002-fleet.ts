import type { Migration } from './index.js';

/**
 * Devices, cohorts, rollouts with their signed statements, reports and the
 * per-rollout counters that keep status O(1) (issue 3).
 */
export const fleet: Migration = {
  version: 2,
  name: 'fleet',
  sqlite: `
    CREATE TABLE devices (
      id           TEXT PRIMARY KEY,
      token_hash   BLOB NOT NULL,
      model        TEXT NOT NULL,
      version      TEXT NOT NULL,
      attributes   TEXT NOT NULL,
      enrolled_at  INTEGER NOT NULL,
      last_seen    INTEGER NOT NULL,
      last_seq     INTEGER NOT NULL DEFAULT 0
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX devices_token ON devices (token_hash);

    CREATE TABLE cohorts (
      name         TEXT PRIMARY KEY,
      description  TEXT,
      rule         TEXT,
      created_at   TEXT NOT NULL,
      updated_at   TEXT NOT NULL
    ) STRICT;

    CREATE TABLE cohort_members (
      device_id  TEXT NOT NULL,
      cohort     TEXT NOT NULL REFERENCES cohorts (name) ON DELETE CASCADE,
      PRIMARY KEY (device_id, cohort)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX cohort_members_by_cohort ON cohort_members (cohort, device_id);

    CREATE TABLE rollouts (
      id                 TEXT PRIMARY KEY,
      release_id         TEXT NOT NULL REFERENCES releases (id),
      salt               TEXT NOT NULL,
      stages             TEXT NOT NULL,
      failure_policy     TEXT NOT NULL,
      state              TEXT NOT NULL,
      current_stage      INTEGER NOT NULL,
      stage_started_at   INTEGER,
      statement_version  INTEGER NOT NULL,
      created_at         TEXT NOT NULL,
      created_by         TEXT NOT NULL,
      updated_at         TEXT NOT NULL
    ) STRICT;

    -- One signed statement per stage reached (protocol §6), re-signed in place.
    CREATE TABLE rollout_statements (
      rollout_id  TEXT NOT NULL REFERENCES rollouts (id),
      stage       INTEGER NOT NULL,
      version     INTEGER NOT NULL,
      expires     INTEGER NOT NULL,
      envelope    TEXT NOT NULL,
      PRIMARY KEY (rollout_id, stage)
    ) STRICT, WITHOUT ROWID;

    -- Each device a rollout offered its release to, with its latest state.
    CREATE TABLE rollout_devices (
      rollout_id  TEXT NOT NULL,
      device_id   TEXT NOT NULL,
      stage       INTEGER NOT NULL,
      offered_at  INTEGER NOT NULL,
      state       TEXT,
      state_at    INTEGER,
      settings    TEXT,
      PRIMARY KEY (rollout_id, device_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, state_at);

    CREATE TABLE reports (
      device_id    TEXT NOT NULL,
      seq          INTEGER NOT NULL,
      rollout_id   TEXT NOT NULL,
      release_id   TEXT NOT NULL,
      state        TEXT NOT NULL,
      at           TEXT NOT NULL,
      body         TEXT NOT NULL,
      received_at  INTEGER NOT NULL,
      PRIMARY KEY (device_id, seq)
    ) STRICT, WITHOUT ROWID;

    -- Incrementally maintained in the transaction that changes what they count.
    CREATE TABLE rollout_counters (
      rollout_id  TEXT NOT NULL,
      key         TEXT NOT NULL,
      value       INTEGER NOT NULL,
      PRIMARY KEY (rollout_id, key)
    ) STRICT, WITHOUT ROWID;

  `,
  postgres: `
    CREATE TABLE devices (
      id           TEXT COLLATE "C" PRIMARY KEY,
      token_hash   BYTEA NOT NULL,
      model        TEXT COLLATE "C" NOT NULL,
      version      TEXT COLLATE "C" NOT NULL,
      attributes   TEXT NOT NULL,
      enrolled_at  BIGINT NOT NULL,
      last_seen    BIGINT NOT NULL,
      last_seq     BIGINT NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX devices_token ON devices (token_hash);

    CREATE TABLE cohorts (
      name         TEXT COLLATE "C" PRIMARY KEY,
      description  TEXT,
      rule         TEXT,
      created_at   TEXT COLLATE "C" NOT NULL,
      updated_at   TEXT COLLATE "C" NOT NULL
    );

    CREATE TABLE cohort_members (
      device_id  TEXT COLLATE "C" NOT NULL,
      cohort     TEXT COLLATE "C" NOT NULL REFERENCES cohorts (name) ON DELETE CASCADE,
      PRIMARY KEY (device_id, cohort)
    );
    CREATE INDEX cohort_members_by_cohort ON cohort_members (cohort, device_id);

    CREATE TABLE rollouts (
      id                 TEXT COLLATE "C" PRIMARY KEY,
      release_id         TEXT COLLATE "C" NOT NULL REFERENCES releases (id),
      salt               TEXT COLLATE "C" NOT NULL,
      stages             TEXT NOT NULL,
      failure_policy     TEXT NOT NULL,
      state              TEXT COLLATE "C" NOT NULL,
      current_stage      INTEGER NOT NULL,
      stage_started_at   BIGINT,
      statement_version  BIGINT NOT NULL,
      created_at         TEXT COLLATE "C" NOT NULL,
      created_by         TEXT COLLATE "C" NOT NULL,
      updated_at         TEXT COLLATE "C" NOT NULL
    );

    -- One signed statement per stage reached (protocol §6), re-signed in place.
    CREATE TABLE rollout_statements (
      rollout_id  TEXT COLLATE "C" NOT NULL REFERENCES rollouts (id),
      stage       INTEGER NOT NULL,
      version     BIGINT NOT NULL,
      expires     BIGINT NOT NULL,
      envelope    TEXT NOT NULL,
      PRIMARY KEY (rollout_id, stage)
    );

    -- Each device a rollout offered its release to, with its latest state.
    CREATE TABLE rollout_devices (
      rollout_id  TEXT COLLATE "C" NOT NULL,
      device_id   TEXT COLLATE "C" NOT NULL,
      stage       INTEGER NOT NULL,
      offered_at  BIGINT NOT NULL,
      state       TEXT COLLATE "C",
      state_at    BIGINT,
      settings    TEXT,
      PRIMARY KEY (rollout_id, device_id)
    );
    CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, state_at);

    CREATE TABLE reports (
      device_id    TEXT COLLATE "C" NOT NULL,
      seq          BIGINT NOT NULL,
      rollout_id   TEXT COLLATE "C" NOT NULL,
      release_id   TEXT COLLATE "C" NOT NULL,
      state        TEXT COLLATE "C" NOT NULL,
      at           TEXT COLLATE "C" NOT NULL,
      body         TEXT NOT NULL,
      received_at  BIGINT NOT NULL,
      PRIMARY KEY (device_id, seq)
    );

    -- Incrementally maintained in the transaction that changes what they count.
    CREATE TABLE rollout_counters (
      rollout_id  TEXT COLLATE "C" NOT NULL,
      key         TEXT COLLATE "C" NOT NULL,
      value       BIGINT NOT NULL,
      PRIMARY KEY (rollout_id, key)
    );
  `,
};
