import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 011: device admission auth sets, Mender device tokens, `.mender` headers, shared server secrets. */
export const m011: PostgresMigration = {
  version: 11,
  name: 'device-admission-mender',
  sql: `
  CREATE TABLE device_admissions (
    device_id     TEXT COLLATE "C" NOT NULL,
    key_sha256    TEXT COLLATE "C" NOT NULL,
    id_data       TEXT NOT NULL,
    pubkey        TEXT NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    requested_at  BIGINT NOT NULL,
    decided_at    BIGINT,
    decided_by    TEXT,
    PRIMARY KEY (device_id, key_sha256)
  );
  CREATE INDEX device_admissions_status ON device_admissions (status, device_id);

  CREATE TABLE mender_tokens (
    token_hash  BYTEA PRIMARY KEY,
    device_id   TEXT COLLATE "C" NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT
  );
  CREATE INDEX mender_tokens_device ON mender_tokens (device_id);

  CREATE TABLE mender_artifacts (
    sha256         TEXT COLLATE "C" PRIMARY KEY,
    artifact_name  TEXT NOT NULL,
    device_types   TEXT NOT NULL
  );

  CREATE TABLE server_secrets (
    name   TEXT COLLATE "C" PRIMARY KEY,
    value  BYTEA NOT NULL
  );
`,
};
