import type { Sql } from '../db/sql.js';

/** One delivery still to make: an event for one receiver (migration 018). */
export interface OutboxDelivery {
  seq: number;
  /** The event's id, the same for every receiver and every attempt (X-OTA-Delivery). */
  eventId: string;
  eventType: string;
  receiver: string;
  body: string;
  /** Epoch ms. */
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
}

const COLUMNS = `seq, event_id AS "eventId", event_type AS "eventType", receiver, body, created_at AS "createdAt",
  attempts, next_attempt_at AS "nextAttemptAt"`;

export type WebhookOutboxStore = ReturnType<typeof createWebhookOutboxStore>;

/**
 * The webhook outbox table. `add` runs in the transaction of the change it
 * announces (the caller's); everything else is the delivering node's, one
 * receiver at a time.
 */
export function createWebhookOutboxStore(sql: Sql) {
  const remove = async (seq: number): Promise<void> => void (await sql.run('DELETE FROM webhook_outbox WHERE seq = ?', [seq]));
  return {
    /** Inside the caller's transaction: the event for each receiver, due at once. */
    async add(event: { eventId: string; eventType: string; body: string; createdAt: number }, receivers: readonly string[]): Promise<void> {
      for (const receiver of receivers) {
        await sql.run('INSERT INTO webhook_outbox (event_id, event_type, receiver, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
          [event.eventId, event.eventType, receiver, event.body, event.createdAt, event.createdAt]);
      }
    },
    /** The receiver's oldest delivery: deliveries to one receiver keep their order. */
    head: (receiver: string): Promise<OutboxDelivery | undefined> =>
      sql.one<OutboxDelivery>(`SELECT ${COLUMNS} FROM webhook_outbox WHERE receiver = ? ORDER BY seq LIMIT 1`, [receiver]),
    /** Counts an attempt before it is made: a crash mid-attempt still uses one up. */
    async attempting(seq: number): Promise<void> {
      await sql.run('UPDATE webhook_outbox SET attempts = attempts + 1 WHERE seq = ?', [seq]);
    },
    async retryAt(seq: number, at: number, error: string): Promise<void> {
      await sql.run('UPDATE webhook_outbox SET next_attempt_at = ?, last_error = ? WHERE seq = ?', [at, error, seq]);
    },
    /** Delivered or given up: nothing is kept. */
    remove,
    /** Removes the receiver's oldest deliveries never tried beyond `max` waiting, and returns them. */
    async dropOverflow(receiver: string, max: number): Promise<OutboxDelivery[]> {
      const waiting = Number(await sql.value<number>('SELECT COUNT(*) FROM webhook_outbox WHERE receiver = ?', [receiver]));
      if (waiting <= max) return [];
      const dropped = await sql.all<OutboxDelivery>(`SELECT ${COLUMNS} FROM webhook_outbox WHERE receiver = ? AND attempts = 0 ORDER BY seq LIMIT ?`, [receiver, waiting - max]);
      for (const d of dropped) await remove(d.seq);
      return dropped;
    },
    /** Deletes the deliveries of receivers no longer configured; how many. */
    forgetAllBut: (receivers: readonly string[]): Promise<number> =>
      sql.run(`DELETE FROM webhook_outbox WHERE receiver NOT IN (SELECT value FROM ${sql.dialect.jsonTextElements})`, [JSON.stringify(receivers)]),
    pending: async (receiver: string): Promise<number> => Number(await sql.value<number>('SELECT COUNT(*) FROM webhook_outbox WHERE receiver = ?', [receiver])),
  };
}
