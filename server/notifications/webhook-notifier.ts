import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RolloutTransition } from '../rollouts/rollout-events.js';
import { signatureOf } from './webhook-signature.js';
import { backoffDelay } from '../lib/backoff.js';

export interface WebhookOptions {
  urls: readonly string[];
  secret: string | undefined;
  timeoutSeconds: number;
  retryBaseMs: number;
  maxAttempts: number;
  /** Deliveries waiting per receiver; past it the oldest is dropped (and logged). */
  maxQueue?: number;
  logger: Logger;
}

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

interface Delivery {
  body: string;
  id: string;
  rolloutId: string;
  attempt: number;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** 408 and 429 say "later"; 5xx and network errors may pass; any other 4xx will not change by itself. */
const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429;

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

/**
 * Sends every rollout transition to each configured receiver as a JSON POST,
 * signed when a secret is set. Never on the request path: `notify` only
 * enqueues. One delivery in flight per receiver, in order (a halt is never
 * overtaken by the resume that followed it); a failed attempt is retried with
 * exponential backoff up to maxAttempts, then logged and dropped. Logs name a
 * receiver by its origin and index only: a URL (or the secret) may be a credential.
 */
export function createWebhookNotifier(opts: WebhookOptions) {
  const maxQueue = opts.maxQueue ?? 1000;
  let closed = false;
  const receivers = opts.urls.map((url, i) => ({
    url,
    name: `${new URL(url).origin} (#${i + 1})`,
    queue: [] as Delivery[],
    busy: false,
    timer: undefined as NodeJS.Timeout | undefined,
  }));
  type Receiver = (typeof receivers)[number];

  const attempt = async (r: Receiver, d: Delivery): Promise<{ ok: true } | { ok: false; retry: boolean; why: string }> => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'ota-server-webhook',
      'X-OTA-Event': 'rollout.transition',
      'X-OTA-Delivery': d.id,
      'X-OTA-Timestamp': String(timestamp),
    };
    if (opts.secret !== undefined) headers['X-OTA-Signature'] = signatureOf(opts.secret, timestamp, d.body);
    try {
      const res = await fetch(r.url, { method: 'POST', headers, body: d.body, redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutSeconds * 1000) });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, retry: retryable(res.status), why: `HTTP ${res.status}` };
    } catch (e) {
      const raw = e instanceof Error && e.name === 'TimeoutError' ? `no answer in ${opts.timeoutSeconds}s` : e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
      // Error texts may quote the receiver's URL, whose path or query can be a secret of its own.
      const why = raw.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[receiver URL]');
      return { ok: false, retry: true, why };
    }
  };

  const pump = (r: Receiver): void => {
    if (r.busy || closed) return;
    const d = r.queue[0];
    if (!d) return;
    r.busy = true;
    d.attempt++;
    void attempt(r, d).then((outcome) => {
      r.busy = false;
      if (closed) return;
      const where = { receiver: r.name, delivery: d.id, rollout: d.rolloutId, attempt: d.attempt };
      if (outcome.ok) {
        r.queue.shift();
        opts.logger.debug(where, 'webhook delivered');
        return pump(r);
      }
      if (!outcome.retry || d.attempt >= opts.maxAttempts) {
        r.queue.shift();
        opts.logger.error({ ...where, why: outcome.why }, 'webhook delivery given up');
        return pump(r);
      }
      const delayMs = backoffDelay(d.attempt - 1, { firstMs: opts.retryBaseMs, maxMs: MAX_BACKOFF_MS });
      opts.logger.warn({ ...where, why: outcome.why, retryInMs: delayMs }, 'webhook delivery failed; retrying');
      r.timer = setTimeout(() => {
        r.timer = undefined;
        pump(r);
      }, delayMs);
      r.timer.unref();
    });
  };

  return {
    /** Enqueues the transition for every receiver; returns at once. */
    notify(t: RolloutTransition): void {
      if (closed || receivers.length === 0) return;
      const n = notificationOf(t);
      const body = JSON.stringify(n);
      for (const r of receivers) {
        r.queue.push({ body, id: n.id, rolloutId: t.rolloutId, attempt: 0 });
        // The head may be in flight: drop the oldest waiting one behind it.
        if (r.queue.length > maxQueue) {
          const dropped = r.queue.splice(r.busy || r.timer ? 1 : 0, 1)[0];
          opts.logger.error({ receiver: r.name, delivery: dropped?.id, rollout: dropped?.rolloutId, maxQueue }, 'webhook queue full; oldest waiting delivery dropped');
        }
        if (!r.timer) pump(r);
      }
    },
    /** Deliveries not yet made, per receiver (for tests and shutdown logs). */
    pending: (): number[] => receivers.map((r) => r.queue.length),
    /** Stops retries and new deliveries (server shutdown); what is still queued is logged. */
    close(): void {
      closed = true;
      for (const r of receivers) {
        if (r.timer) clearTimeout(r.timer);
        if (r.queue.length > 0) opts.logger.warn({ receiver: r.name, undelivered: r.queue.length }, 'webhook deliveries not made before shutdown');
      }
    },
  };
}
