import { sha256 } from './crypto/hash.js';

/** Any SHA-256 implementation: the portable one by default, a native one on the server's hot path. */
export type Sha256 = (data: string) => Uint8Array;

/**
 * protocol §5: bucket(salt, deviceId) = uint32_be(first 4 bytes of
 * SHA-256(utf8(salt ":" deviceId))) mod 10000. Identical on server, device
 * agent and QA tools; vectors in test/vectors/bucket-vectors.json.
 */
export function bucketOf(salt: string, deviceId: string, hash: Sha256 = sha256): number {
  const d = hash(`${salt}:${deviceId}`);
  const n = (((d[0] as number) << 24) >>> 0) + ((d[1] as number) << 16) + ((d[2] as number) << 8) + (d[3] as number);
  return n % 10000;
}

/** protocol §5: a device passes a stage's bucket test when bucket < basisPoints. */
export const inBucket = (salt: string, deviceId: string, basisPoints: number): boolean => bucketOf(salt, deviceId) < basisPoints;
