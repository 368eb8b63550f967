import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 011: the `gateway` role, DDI actions and controllers, artifacts' sha1, md5 and upload name (protocol §11). */
export const m011: PostgresMigration = {
  version: 11,
  name: 'ddi-gateway',
  sql: `
  ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_role_check;
  ALTER TABLE operator_tokens ADD CONSTRAINT operator_tokens_role_check
    CHECK (role IN ('admin','release-manager','qa','viewer','enroller','gateway'));

  -- INTEGER: DDI clients read an action id as a 32-bit int (protocol §11), so the column cannot pass it.
  CREATE TABLE ddi_actions (
    id          INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
