import { LRUCache } from 'lru-cache';
import { verifyThreshold, type Envelope, type ThresholdResult } from '../../protocol/crypto/envelope.js';
import { sha256Hex } from '../../protocol/crypto/hash.js';
import { manifestSha256, type ReleaseSigned } from '../../protocol/release-manifest.js';
import { checkNextRoot, type RoleName, type RootEnvelope, type RootSigned } from '../../protocol/trust/root.js';

/**
 * An optional memo shared by many agents in one process (the fleet
 * simulator): identical envelopes checked against identical keys give
 * identical answers, so each is verified once. Keys are SHA-256 of the
 * envelope's JSON plus the role's keyids and threshold (keyids are hashes
 * of the keys, parseRoot checks that), so a hit can never stand for a
 * different document or different keys. Bounded: the least recently used
 * go first (lru-cache: plain JavaScript, so the portable core may use it).
 */
export class VerifyCache {
  // Boxed: a memoised answer may be any value, lru-cache stores objects.
  private readonly entries: LRUCache<string, { value: unknown }>;
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries = 10_000) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  memo<T>(key: string, compute: () => T): T {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      return hit.value as T;
    }
    this.misses++;
    const value = compute();
    this.entries.set(key, { value });
    return value;
  }
}

const keyOf = (...parts: unknown[]): string => sha256Hex(JSON.stringify(parts));

/** protocol §1 threshold check of `envelope` for a role of `root`, memoised when a cache is given. */
export function verifyRole(cache: VerifyCache | undefined, root: RootSigned, role: RoleName, envelope: Envelope<unknown>): ThresholdResult {
  const keys = root.roles[role];
  const compute = () => verifyThreshold(envelope, root.keys, keys);
  return cache ? cache.memo(keyOf('role', role, keys.keyids, keys.threshold, envelope), compute) : compute();
}

/** protocol §4 manifestSha256, memoised when a cache is given. */
export function releaseDigest(cache: VerifyCache | undefined, signed: ReleaseSigned): string {
  const compute = () => manifestSha256(signed);
  return cache ? cache.memo(keyOf('manifest', signed), compute) : compute();
}

/** protocol §2 checkNextRoot, memoised when a cache is given. */
export function nextRootReasons(cache: VerifyCache | undefined, trusted: RootSigned, next: RootEnvelope): string[] {
  const compute = () => checkNextRoot(trusted, next);
  return cache ? cache.memo(keyOf('root-step', trusted, next), compute) : compute();
}

