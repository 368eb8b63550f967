import type { Migration } from './index.js';

/**
 * protocol §11 (hawkBit DDI gateway):
 * - the operator role `gateway` (SQLite cannot alter a CHECK constraint: the table is rebuilt);
 * - DDI actions, one per device, rollout and release, with ids clients read as a 32-bit int
 *   (PostgreSQL's INTEGER identity stops there by itself; both engines check the range);
 * - which controllers have sent their configData (the link goes once data arrived);
 * - artifacts' sha1, md5 and upload name, which deploymentBase names (null for artifacts
 *   uploaded before: computed on first need).
 */
export const ddiGateway: Migration = {
  version: 12,
  name: 'ddi-gateway',
  sqlite: `
    CREATE TABLE operator_tokens_new (
      id            INTEGER PRIMARY KEY,
      token_hash    TEXT NOT NULL UNIQUE,
      role          TEXT NOT NULL CHECK (role IN ('admin','release-manager','qa','viewer','enroller','gateway')),
      name          TEXT NOT NULL,
      created_at    TEXT NOT NULL,
      revoked_at    TEXT,
      last_used_at  TEXT
    ) STRICT;
    INSERT INTO operator_tokens_new (id, token_hash, role, name, created_at, revoked_at, last_used_at)
      SELECT id, token_hash, role, name, created_at, revoked_at, last_used_at FROM operator_tokens;
    DROP TABLE operator_tokens;
    ALTER TABLE operator_tokens_new RENAME TO operator_tokens;

    CREATE TABLE ddi_actions (
      id          INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 2147483647),
      device_id   TEXT NOT NULL,
      rollout_id  TEXT NOT NULL,
      release_id  TEXT NOT NULL,
      state       TEXT,
      closed      INTEGER NOT NULL DEFAULT 0,
      created_at  INTEGER NOT NULL,
      closed_at   INTEGER,
      UNIQUE (device_id, rollout_id, release_id)
    ) STRICT;

    CREATE TABLE ddi_controllers (
      device_id       TEXT PRIMARY KEY,
      config_data_at  INTEGER NOT NULL
    ) STRICT;

    ALTER TABLE artifacts ADD COLUMN sha1 TEXT;
    ALTER TABLE artifacts ADD COLUMN md5 TEXT;
    ALTER TABLE artifacts ADD COLUMN name TEXT;
  `,
  postgres: `
    ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_role_check;
    ALTER TABLE operator_tokens ADD CONSTRAINT operator_tokens_role_check
      CHECK (role IN ('admin','release-manager','qa','viewer','enroller','gateway'));

    CREATE TABLE ddi_actions (
      id          INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY CHECK (id BETWEEN 1 AND 2147483647),
      device_id   TEXT COLLATE "C" NOT NULL,
      rollout_id  TEXT COLLATE "C" NOT NULL,
      release_id  TEXT COLLATE "C" NOT NULL,
      state       TEXT COLLATE "C",
      closed      INTEGER NOT NULL DEFAULT 0,
      created_at  BIGINT NOT NULL,
      closed_at   BIGINT,
      UNIQUE (device_id, rollout_id, release_id)
    );

    CREATE TABLE ddi_controllers (
      device_id       TEXT COLLATE "C" PRIMARY KEY,
      config_data_at  BIGINT NOT NULL
    );

    ALTER TABLE artifacts ADD COLUMN sha1 TEXT COLLATE "C";
    ALTER TABLE artifacts ADD COLUMN md5 TEXT COLLATE "C";
    ALTER TABLE artifacts ADD COLUMN name TEXT COLLATE "C";
  `,
};
