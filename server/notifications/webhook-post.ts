import { signatureOf } from './webhook-signature.js';
import type { OutboxDelivery } from './webhook-outbox-store.js';

export type PostOutcome = { ok: true } | { ok: false; retry: boolean; why: string };

/** 408 and 429 say "later"; 5xx and network errors may pass; any other 4xx will not change by itself. */
const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/**
 * One attempt at one delivery (docs/protocol-notes.md, "Webhooks"): the
 * body as stored, the event id in X-OTA-Delivery, a fresh timestamp and
 * signature per attempt; no redirect followed. `why` never quotes the URL.
 */
export async function postDelivery(
  url: string,
  d: Pick<OutboxDelivery, 'eventId' | 'eventType' | 'body'>,
  opts: { secret: string | undefined; timeoutSeconds: number; signal: AbortSignal },
): Promise<PostOutcome> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'ota-server-webhook',
    'X-OTA-Event': d.eventType,
    'X-OTA-Delivery': d.eventId,
    'X-OTA-Timestamp': String(timestamp),
  };
  if (opts.secret !== undefined) headers['X-OTA-Signature'] = signatureOf(opts.secret, timestamp, d.body);
  try {
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutSeconds * 1000), opts.signal]);
    const res = await fetch(url, { method: 'POST', headers, body: d.body, redirect: 'manual', signal });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, retry: retryable(res.status), why: `HTTP ${res.status}` };
  } catch (e) {
    const raw = e instanceof Error && e.name === 'TimeoutError' ? `no answer in ${opts.timeoutSeconds}s` : e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    // Error texts may quote the receiver's URL, whose path or query can be a secret of its own.
    const why = raw.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[receiver URL]');
    return { ok: false, retry: true, why };
  }
}
