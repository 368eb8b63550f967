import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (docs/protocol-notes.md, "Webhooks"): HMAC-SHA256 with
 * the shared secret over `<timestamp>.<body>`, where timestamp is the
 * X-OTA-Timestamp header (Unix seconds) and body the exact bytes sent.
 * Binding the timestamp lets a receiver refuse replays older than its window.
 */
export const signatureOf = (secret: string, timestamp: number, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/** What a receiver does: the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = headers.timestamp !== undefined && /^[0-9]{1,12}$/.test(headers.timestamp) ? Number(headers.timestamp) : NaN;
  if (!Number.isFinite(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds || headers.signature === undefined) return false;
  const expected = Buffer.from(signatureOf(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
