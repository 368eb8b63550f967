import type { Migration } from './index.js';

/**
 * The webhook outbox (issue 18, docs/operations.md "Notifications"): one row
 * per rollout change and receiver, written in the transaction of the change
 * itself, so a committed change is delivered after a restart and a rolled-back
 * one never. `seq` is the order deliveries to one receiver keep; `receiver` is
 * the SHA-256 of its URL (a URL may hold a credential, so it is not stored).
 * A row is deleted once delivered or given up: the table holds only what is
 * still to deliver. The leader reads the oldest row of each receiver
 * (`webhook_outbox_receiver`).
 */
export const webhookOutbox: Migration = {
  version: 18,
  name: 'webhook-outbox',
  sqlite: `
    CREATE TABLE webhook_outbox (
      seq              INTEGER PRIMARY KEY,
      event_id         TEXT NOT NULL,
      event_type       TEXT NOT NULL,
      receiver         TEXT NOT NULL,
      body             TEXT NOT NULL,
      created_at       INTEGER NOT NULL,
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  INTEGER NOT NULL,
      last_error       TEXT
    ) STRICT;
    CREATE INDEX webhook_outbox_receiver ON webhook_outbox (receiver, seq);
  `,
  postgres: `
    CREATE TABLE webhook_outbox (
      seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id         TEXT COLLATE "C" NOT NULL,
      event_type       TEXT COLLATE "C" NOT NULL,
      receiver         TEXT COLLATE "C" NOT NULL,
      body             TEXT NOT NULL,
      created_at       BIGINT NOT NULL,
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  BIGINT NOT NULL,
      last_error       TEXT
    );
    CREATE INDEX webhook_outbox_receiver ON webhook_outbox (receiver, seq);
  `,
};
