import { nativeSha256 } from '../crypto/native-hash.js';
import { bucketOf } from '../rollouts/bucket.js';

/** At most this many salts remembered per device (live rollouts plus the poll jitter). */
const MAX_SALTS = 16;

// Keyed by the device object itself: a cached device (device-cache.ts) keeps its buckets for as long
// as it stays cached, and they go with it when it is evicted. A bucket depends only on salt and id.
const memo = new WeakMap<object, (string | number)[]>();

/**
 * protocol §5 bucket of a device for a salt, remembered on the device: a
 * poll needs one per live rollout plus one for its jitter, and each is a
 * SHA-256 (about 1.4 µs) that gives the same answer every poll.
 */
export function deviceBucket(device: { readonly id: string }, salt: string): number {
  let salts = memo.get(device);
  if (salts) for (let i = 0; i < salts.length; i += 2) if (salts[i] === salt) return salts[i + 1] as number;
  const bucket = bucketOf(salt, device.id, nativeSha256);
  if (!salts) memo.set(device, (salts = []));
  if (salts.length < MAX_SALTS * 2) salts.push(salt, bucket);
  return bucket;
}
