import { nativeSha256 } from '../protocol/crypto/native-hash.js';
import { bucketOf } from '../protocol/bucket.js';

/** Salts remembered at once (live rollouts plus the poll jitter); a new one past this starts a new generation. */
const SLOTS = 8;

// Salt → slot, for the current generation. Each device keeps [generation, bucket per slot...]: a few
// small integers rather than the salts themselves (about 150 bytes per cached device, measured).
const slots = new Map<string, number>();
let generation = 0;
// Keyed by the device object itself: a cached device (device-cache.ts) keeps its buckets for as long
// as it stays cached, and they go with it when it is evicted. A bucket depends only on salt and id.
const memo = new WeakMap<object, number[]>();

/**
 * protocol §5 bucket of a device for a salt, remembered on the device: a
 * poll needs one per live rollout plus one for its jitter, and each is a
 * SHA-256 that gives the same answer every poll (about 5 µs of a warm
 * poll's 10 µs of handler CPU, docs/benchmarks.md).
 */
export function deviceBucket(device: { readonly id: string }, salt: string): number {
  let slot = slots.get(salt);
  if (slot === undefined) {
    if (slots.size === SLOTS) {
      // Rollouts came and went: forget every slot; devices refill theirs on their next poll.
      slots.clear();
      generation++;
    }
    slots.set(salt, (slot = slots.size));
  }
  let buckets = memo.get(device);
  if (buckets === undefined) memo.set(device, (buckets = new Array<number>(SLOTS + 1).fill(-1)));
  if (buckets[0] !== generation) {
    buckets.fill(-1);
    buckets[0] = generation;
  }
  const known = buckets[slot + 1] as number;
  if (known >= 0) return known;
  return (buckets[slot + 1] = bucketOf(salt, device.id, nativeSha256));
}
