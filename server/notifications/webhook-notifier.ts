import { AsyncResource } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RolloutTransition } from '../rollouts/rollout-events.js';
import type { OutboxDelivery, WebhookOutboxStore } from './webhook-outbox-store.js';
import { postDelivery } from './webhook-post.js';
import { backoffDelay } from '../lib/backoff.js';

export interface WebhookOptions {
  urls: readonly string[];
  secret: string | undefined;
  timeoutSeconds: number;
  retryBaseMs: number;
  maxAttempts: number;
  /** Deliveries waiting per receiver; past it the oldest never tried is dropped (and logged). */
  maxQueue?: number;
  /** A delivery not made this long after its change is given up (ms; default 24 h). */
  maxAgeMs?: number;
  /** The outbox: every change's deliveries, written in the change's own transaction. */
  store: WebhookOutboxStore;
  /** protocol §9: only the leader delivers (the singleton jobs); default: this node (one node). */
  leads?: () => boolean;
  /** How each delivery ended, for ota_webhook_deliveries_total (n: several dropped at once). */
  counted?: (outcome: DeliveryOutcome, n: number) => void;
  /** A delivery pass that failed (the database away): its rows stay and the next wake tries again. */
  onError?: (err: unknown) => void;
  /** Epoch ms: retries wait on real timers, so real time (tests of the age bound move it). */
  clock?: () => number;
  logger: Logger;
}

export type DeliveryOutcome = 'delivered' | 'given_up' | 'dropped';

/** The JSON body of one notification (docs/protocol-notes.md, "Webhooks"). */
export interface RolloutNotification {
  type: 'rollout.transition';
  /** Unique per event and stable across retries: receivers de-duplicate on it. */
  id: string;
  at: string;
  rollout: { id: string; releaseId: string };
  action: string;
  actor: string;
  from: RolloutTransition['from'];
  to: RolloutTransition['to'];
  reason: string | null;
  /** The audit entry's details: for an auto-halt the figures and the failure policy. */
  details: Record<string, unknown>;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** A change not delivered within a day is given up: a receiver down that long has a backlog to read by other means (the audit log). */
const MAX_AGE_MS = 24 * 3600_000;

export type WebhookNotifier = ReturnType<typeof createWebhookNotifier>;

export const notificationOf = (t: RolloutTransition): RolloutNotification => ({
  type: 'rollout.transition',
  id: randomUUID(),
  at: t.at,
  rollout: { id: t.rolloutId, releaseId: t.releaseId },
  action: t.action,
  actor: t.actor,
  from: t.from,
  to: t.to,
  reason: typeof t.details.reason === 'string' ? t.details.reason : null,
  details: t.details,
});

/** A receiver as the outbox names it: a URL may hold a credential (chat webhooks keep their key in it), its digest does not. */
export const receiverKey = (url: string): string => createHash('sha256').update(url).digest('hex');

const rolloutOf = (body: string): unknown => (JSON.parse(body) as Partial<RolloutNotification>).rollout?.id;

/**
 * Sends every rollout transition to each configured receiver as a JSON POST,
 * signed when a secret is set. Never on the request path, and never lost
 * once committed (issue 18): `record` writes the deliveries into the outbox
 * in the change's own transaction, and the leader delivers them from there,
 * after a restart too. At least once: a delivery made but not yet marked
 * when the server stops is made again; receivers drop the repeat by its id.
 * One delivery in flight per receiver, in order (a halt is never overtaken
 * by the resume that followed it); a failed attempt is retried with
 * exponential backoff up to maxAttempts or maxAgeMs, then logged, counted
 * and dropped. Logs name a receiver by its origin and index only: a URL (or
 * the secret) may be a credential.
 */
export function createWebhookNotifier(opts: WebhookOptions) {
  const { store } = opts;
  const maxQueue = opts.maxQueue ?? 1000;
  const maxAgeMs = opts.maxAgeMs ?? MAX_AGE_MS;
  const leads = opts.leads ?? (() => true);
  const clock = opts.clock ?? Date.now;
  const onError = opts.onError ?? ((err: unknown) => opts.logger.error({ err }, 'webhook delivery failed'));
  let closed = false;
  let sweeping: Promise<void> | undefined;
  const closing = new AbortController();
  // Deliveries run in the async context the notifier was made in, never inside the transaction of
  // whoever woke it: a row that transaction has not committed is no event yet.
  const detached = new AsyncResource('webhook-delivery');
  const receivers = opts.urls.map((url, i) => ({
    url,
    key: receiverKey(url),
    name: `${new URL(url).origin} (#${i + 1})`,
    running: undefined as Promise<void> | undefined,
    again: false,
    timer: undefined as NodeJS.Timeout | undefined,
  }));
  type Receiver = (typeof receivers)[number];

  const where = (r: Receiver, d: OutboxDelivery) => ({ receiver: r.name, delivery: d.eventId, rollout: rolloutOf(d.body), attempt: d.attempts });

  const giveUp = async (r: Receiver, d: OutboxDelivery, why: string): Promise<void> => {
    await store.remove(d.seq);
    opts.logger.error({ ...where(r, d), why }, 'webhook delivery given up');
    opts.counted?.('given_up', 1);
  };

  const arm = (r: Receiver, delayMs: number): void => {
    r.timer = setTimeout(() => {
      r.timer = undefined;
      pump(r);
    }, Math.min(delayMs, MAX_BACKOFF_MS));
    r.timer.unref();
  };

  /** The receiver's deliveries, oldest first, until none is due; a failed one arms its retry. */
  const drain = async (r: Receiver): Promise<void> => {
    for (;;) {
      r.again = false;
      if (closed || !leads()) return;
      for (const d of await store.dropOverflow(r.key, maxQueue)) {
        opts.logger.error({ receiver: r.name, delivery: d.eventId, rollout: rolloutOf(d.body), maxQueue }, 'webhook queue full; oldest waiting delivery dropped');
        opts.counted?.('dropped', 1);
      }
      const d = await store.head(r.key);
      if (!d) return;
      if (clock() - d.createdAt > maxAgeMs) {
        await giveUp(r, d, `not delivered within ${Math.round(maxAgeMs / 1000)} s of the change`);
        continue;
      }
      if (d.nextAttemptAt > clock()) return arm(r, d.nextAttemptAt - clock());
      await store.attempting(d.seq);
      d.attempts++;
      const outcome = await postDelivery(r.url, d, { secret: opts.secret, timeoutSeconds: opts.timeoutSeconds, signal: closing.signal });
      if (outcome.ok) {
        await store.remove(d.seq);
        opts.logger.debug(where(r, d), 'webhook delivered');
        opts.counted?.('delivered', 1);
        continue;
      }
      // Cut short by shutdown: the delivery stays in the outbox for the next start.
      if (closed) return;
      if (!outcome.retry || d.attempts >= opts.maxAttempts) {
        await giveUp(r, d, outcome.why);
        continue;
      }
      const delayMs = backoffDelay(d.attempts - 1, { firstMs: opts.retryBaseMs, maxMs: MAX_BACKOFF_MS });
      await store.retryAt(d.seq, clock() + delayMs, outcome.why);
      opts.logger.warn({ ...where(r, d), why: outcome.why, retryInMs: delayMs }, 'webhook delivery failed; retrying');
      return arm(r, delayMs);
    }
  };

  const pump = (r: Receiver): void => {
    if (closed || !leads()) return;
    if (r.running) {
      r.again = true;
      return;
    }
    clearTimeout(r.timer);
    r.timer = undefined;
    r.running = drain(r)
      .catch(onError)
      .finally(() => {
        r.running = undefined;
        if (r.again) pump(r);
      });
  };

  /** Once per process: the outbox holds only configured receivers' deliveries (a removed receiver's are dropped, counted, logged). */
  const sweep = async (): Promise<void> => {
    const n = await store.forgetAllBut(receivers.map((r) => r.key));
    if (n === 0) return;
    opts.logger.warn({ deliveries: n }, 'webhook deliveries to receivers no longer configured dropped');
    opts.counted?.('dropped', n);
  };

  return {
    /**
     * Inside the transaction of the change (issue 18): its delivery to every
     * receiver is written to the outbox, so it is made if and only if the
     * change commits. Wake the notifier after the commit.
     */
    async record(t: RolloutTransition): Promise<void> {
      if (receivers.length === 0) return;
      const n = notificationOf(t);
      await store.add({ eventId: n.id, eventType: n.type, body: JSON.stringify(n), createdAt: clock() }, receivers.map((r) => r.key));
    },
    /**
     * Delivers what is due, on the leader only; returns at once. Called after
     * each local commit and by the leader's timer (other nodes' commits, a
     * restart, a new leader).
     */
    wake(): void {
      if (closed || !leads()) return;
      detached.runInAsyncScope(() => {
        sweeping ??= sweep().catch(onError);
        for (const r of receivers) pump(r);
      });
    },
    /** Deliveries in the outbox not yet made, per receiver, whichever node committed them. */
    pending: (): Promise<number[]> => Promise.all(receivers.map((r) => store.pending(r.key))),
    /**
     * Stops retries and new deliveries (server shutdown, before the database
     * closes): an attempt in flight is cut short and what is left stays in
     * the outbox for the next start.
     */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      closing.abort();
      for (const r of receivers) clearTimeout(r.timer);
      await Promise.all([sweeping, ...receivers.map((r) => r.running)]);
    },
  };
}
