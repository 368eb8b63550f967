import type { Migration } from './index.js';

/** Releases, artifacts, operator tokens and the hash-chained audit log. */
export const foundation: Migration = {
  version: 1,
  name: 'foundation',
  sqlite: `
    CREATE TABLE releases (
      id               TEXT PRIMARY KEY,
      manifest_sha256  TEXT NOT NULL,
      envelope         TEXT NOT NULL,
      issued_at        TEXT NOT NULL,
      published_at     TEXT NOT NULL,
      published_by     TEXT NOT NULL
    ) STRICT;

    CREATE TABLE artifacts (
      sha256       TEXT PRIMARY KEY,
      size         INTEGER NOT NULL,
      uploaded_at  TEXT NOT NULL,
      uploaded_by  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE operator_tokens (
      id          INTEGER PRIMARY KEY,
      token_hash  TEXT NOT NULL UNIQUE,
      role        TEXT NOT NULL CHECK (role IN ('admin','release-manager','qa','viewer','enroller')),
      name        TEXT NOT NULL,
      created_at  TEXT NOT NULL,
      revoked_at  TEXT
    ) STRICT;

    CREATE TABLE audit_log (
      seq        INTEGER PRIMARY KEY,
      at         TEXT NOT NULL,
      actor      TEXT NOT NULL,
      action     TEXT NOT NULL,
      subject    TEXT NOT NULL,
      details    TEXT NOT NULL,
      prev_hash  TEXT NOT NULL,
      hash       TEXT NOT NULL
    ) STRICT;

  `,
  postgres: `
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
