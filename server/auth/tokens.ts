import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens: 256 random bits behind a prefix that says what they are
 * (`ota_` operator, `dev_` device, `mdr_` Mender gateway device) so a leaked one is easy to recognise in
 * scanners. Only their SHA-256 is stored; a database leak leaks no token.
 */
export const newToken = (prefix: 'ota' | 'dev' | 'mdr'): string => `${prefix}_${random32()}`;

// One randomBytes call per 128 tokens: a call costs about 4 µs whatever its size, which showed in
// enrollment's profile. Every 32-byte slice of the pool is handed out once, then the pool is replaced.
const POOL_BYTES = 32 * 128;
let pool = Buffer.alloc(0);
let next = POOL_BYTES;
function random32(): string {
  if (next + 32 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    next = 0;
  }
  const token = pool.toString('base64url', next, next + 32);
  pool.fill(0, next, next + 32);
  next += 32;
  return token;
}

export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Constant-time comparison of two hex hashes of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

// RFC 9110 §11.1: the scheme is case-insensitive.
const BEARER_RE = /^Bearer +([A-Za-z0-9_-]{16,200})$/i;

/**
 * Why a request has no usable bearer token: none was sent (`required`, the
 * route's own words), or the header is there but not a bearer token of a
 * token's shape, which a client must be told is not valid rather than missing.
 */
export const noBearerToken = (header: string | undefined, required: string): string =>
  header === undefined || header === ''
    ? required
    : 'the token is not valid: expected "Authorization: Bearer <token>" with 16 to 200 letters, digits, "-" or "_"';

/** The token in an Authorization header, or undefined when it is absent or not a bearer token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return BEARER_RE.exec(header)?.[1];
}
