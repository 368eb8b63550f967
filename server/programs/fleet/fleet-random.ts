import { nativeSha256 } from '../../protocol/crypto/native-hash.js';

/**
 * Deterministic randomness for the fleet simulator: every draw is a hash of
 * the seed and labels (device id, purpose, round), so the same seed gives
 * the same devices, opt-ins and install failures however the event loop
 * happens to schedule them.
 */
export function draw(seed: string, ...labels: (string | number)[]): number {
  const d = nativeSha256(`${seed}\u0000${labels.join('\u0000')}`);
  const n = (((d[0] as number) << 24) >>> 0) + ((d[1] as number) << 16) + ((d[2] as number) << 8) + (d[3] as number);
  return n / 2 ** 32;
}

/** True with probability `p` (0..1), fixed by the seed and labels. */
export const chance = (p: number, seed: string, ...labels: (string | number)[]): boolean => p > 0 && draw(seed, ...labels) < p;

/** An integer in 0..n-1, fixed by the seed and labels. */
export const pick = (n: number, seed: string, ...labels: (string | number)[]): number => Math.floor(draw(seed, ...labels) * n);
