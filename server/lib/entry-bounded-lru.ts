import { LRUCache } from 'lru-cache';

/**
 * An lru-cache holding at most `entries` entries whose memory grows with what
 * it holds. Given `max`, lru-cache reserves its arrays for every entry up
 * front (about 28 bytes each: 5.6 MB for a 200,000-entry cache that may stay
 * empty, in every server and every test app); bounded by size instead, with
 * each entry counting 1, it evicts the same way and allocates as it fills.
 */
export function entryBoundedLru<K extends object | string, V extends object>(
  entries: number,
  opts: Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...opts, maxSize: Math.max(1, entries), sizeCalculation: () => 1 });
}
