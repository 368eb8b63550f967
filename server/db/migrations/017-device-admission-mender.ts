import type { Migration } from './index.js';

/**
 * Device admission (protocol §12: pending / accepted / rejected /
 * preauthorized, one row per identity and public key — an "auth set"),
 * the Mender gateway's device tokens (several valid at once: a fresh one
 * per admitted request, the earlier ones for a grace period), the header
 * of every uploaded `.mender` artifact, and server secrets shared by every
 * node through the database (the artifact-link HMAC key).
 */
export const deviceAdmissionMender: Migration = {
  version: 17,
  name: 'device-admission-mender',
  sqlite: `
      CREATE TABLE device_admissions (
        device_id     TEXT NOT NULL,
        key_sha256    TEXT NOT NULL,
        id_data       TEXT NOT NULL,
        pubkey        TEXT NOT NULL,
        status        TEXT NOT NULL,
        requested_at  INTEGER NOT NULL,
        decided_at    INTEGER,
        decided_by    TEXT,
        PRIMARY KEY (device_id, key_sha256)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX device_admissions_status ON device_admissions (status, device_id);

      CREATE TABLE mender_tokens (
        token_hash  BLOB PRIMARY KEY,
        device_id   TEXT NOT NULL,
        issued_at   INTEGER NOT NULL,
        expires_at  INTEGER
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX mender_tokens_device ON mender_tokens (device_id);

      CREATE TABLE mender_artifacts (
        sha256         TEXT PRIMARY KEY,
        artifact_name  TEXT NOT NULL,
        device_types   TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE server_secrets (
        name   TEXT PRIMARY KEY,
        value  BLOB NOT NULL
      ) STRICT, WITHOUT ROWID;
  `,
  postgres: `
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
