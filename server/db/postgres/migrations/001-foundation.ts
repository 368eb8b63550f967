import type { PostgresMigration } from '../migrate.js';

/** Mirrors SQLite 001: releases, artifacts, operator tokens and the hash-chained audit log. */
export const m001: PostgresMigration = {
  version: 1,
  name: 'foundation',
  sql: `
  CREATE TABLE releases (
    id               TEXT COLLATE "C" PRIMARY KEY,
    manifest_sha256  TEXT COLLATE "C" NOT NULL,
    envelope         TEXT NOT NULL,
    issued_at        TEXT COLLATE "C" NOT NULL,
    published_at     TEXT COLLATE "C" NOT NULL,
    published_by     TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE artifacts (
    sha256       TEXT COLLATE "C" PRIMARY KEY,
    size         BIGINT NOT NULL,
    uploaded_at  TEXT COLLATE "C" NOT NULL,
    uploaded_by  TEXT COLLATE "C" NOT NULL
  );

  CREATE TABLE operator_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin','release-manager','qa','viewer','enroller')),
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT COLLATE "C"
  );

  CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         TEXT COLLATE "C" NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL
  );
`,
};
