import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens: 256 random bits behind a prefix that says what they are
 * (`ota_` operator, `dev_` device) so a leaked one is easy to recognise in
 * scanners. Only their SHA-256 is stored; a database leak leaks no token.
 */
export const newToken = (prefix: 'ota' | 'dev'): string => `${prefix}_${randomBytes(32).toString('base64url')}`;

export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Constant-time comparison of two hex hashes of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

// RFC 9110 §11.1: the scheme is case-insensitive.
const BEARER_RE = /^Bearer +([A-Za-z0-9_-]{16,200})$/i;

/** The token in an Authorization header, or undefined when it is absent or not a bearer token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return BEARER_RE.exec(header)?.[1];
}
