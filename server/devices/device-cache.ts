import type { AttributeValue } from '../cohorts/cohort.js';
import type { Device } from './device-store.js';
import { entryBoundedLru } from '../lib/entry-bounded-lru.js';

/** Distinct attribute sets shared between cached devices; past this many, each device keeps its own. */
const MAX_SHARED_ATTRIBUTE_SETS = 10_000;

export type DeviceCache = ReturnType<typeof createDeviceCache>;

export interface DeviceCacheOptions {
  /**
   * A cached device used within this long keeps its place when the cache is
   * full: a newcomer replaces only an entry idle longer (ms). Set above the
   * longest poll cycle of the fleet (context.ts: twice the longest interval
   * the server hands out, stretched as far as the load gauge may). Default:
   * pure LRU (0).
   */
  idleMs?: number;
  /** A newcomer refused a place is admitted if it asks again within this long (ms; a device busy installing). */
  secondSightMs?: number;
  /** Milliseconds on a monotonic clock (default `performance.now`: a wall-clock step must not make every entry idle); tests move it. */
  clock?: () => number;
}

/** A cached device and when it was last used. */
interface Slot {
  device: Device;
  usedAt: number;
}

/**
 * A bounded cache of devices by id in front of the device store: the poll's
 * authentication reads a device per request, and at fleet scale that read
 * was the largest part of the poll's own CPU (docs/benchmarks.md). It only
 * ever holds committed rows: the store fills it from reads made outside a
 * transaction and drops an entry on every write to that device's
 * credential or facts, so a rolled-back write can never leave a token in
 * memory that the database does not have. Memory stays bounded by
 * `capacity` (0 turns it off), whatever the fleet's size; the strings and
 * attribute sets most devices share are stored once.
 *
 * Entries are kept in use order by lru-cache, whose eviction is constant
 * time: a `Map` kept in use order (delete and set again on each use) had to
 * skip every deleted slot at its front to find the oldest entry: 9–13 µs per
 * insert at 20,000 entries and 71 µs at 200,000, four in five of them
 * evicting (docs/benchmarks.md). A full cache admits a newcomer only in
 * place of an entry idle longer than `idleMs`. A fleet larger than the
 * cache polls on a fixed cycle, and there plain LRU evicts exactly the
 * device that polls next: every poll misses. Keeping the devices already
 * cached gives capacity/fleet of the polls a hit instead, while a device
 * that stopped polling still gives its place up after `idleMs`. A newcomer
 * refused once and asking again within `secondSightMs` (a device reporting
 * an install's progress, a test device polling often) is admitted at once.
 */
export function createDeviceCache(capacity: number, opts: DeviceCacheOptions = {}) {
  // With capacity 0 nothing is ever put in it.
  const entries = entryBoundedLru<string, Slot>(capacity);
  const strings = new Map<string, string>();
  const attributeSets = new Map<string, Readonly<Record<string, AttributeValue>>>();
  const idleMs = opts.idleMs ?? 0;
  const secondSightMs = opts.secondSightMs ?? 60_000;
  const clock = opts.clock ?? (() => performance.now());
  /** Newcomers refused a place: this window's and the one before (each bounded, so memory stays bounded too). */
  let refusedNow = new Set<string>();
  let refusedBefore = new Set<string>();
  let windowStart = clock();
  let hits = 0;
  let misses = 0;
  let refusals = 0;

  const intern = (s: string): string => {
    const known = strings.get(s);
    if (known !== undefined) return known;
    if (strings.size < MAX_SHARED_ATTRIBUTE_SETS) strings.set(s, s);
    return s;
  };

  /** Whether a newcomer gets a place in a full cache (the least recently used entry then leaves). */
  const admits = (id: string, now: number): boolean => {
    const oldest = entries.rvalues().next().value as Slot;
    if (now - oldest.usedAt >= idleMs) return true;
    if (now - windowStart >= secondSightMs || refusedNow.size >= Math.max(1000, capacity >> 2)) {
      // Two windows or more since the last refusal: the one before is as stale as this one.
      refusedBefore = now - windowStart >= 2 * secondSightMs ? new Set() : refusedNow;
      refusedNow = new Set();
      windowStart = now;
    }
    if (refusedNow.has(id) || refusedBefore.has(id)) return true;
    refusedNow.add(id);
    refusals++;
    return false;
  };

  return {
    /** The cached copy, with no effect on the order or the idle time: a look before a credential is checked. */
    peek: (id: string): Device | undefined => entries.peek(id)?.device,
    /**
     * The cached copy, counted as a use (a hit): it moves up the order and is no longer idle. Only for a
     * device whose credential was checked: a refused request must not keep an entry in the cache.
     */
    get(id: string): Device | undefined {
      // A miss is counted where the row read from the store comes back (put): a poll looks twice.
      const slot = entries.get(id);
      if (slot === undefined) return undefined;
      hits++;
      slot.usedAt = clock();
      return slot.device;
    },
    /**
     * A committed row as the store read it; `attributesJson` is the stored text, the key for sharing.
     * Returns the device to use, cached or (refused a place in a full cache) not.
     */
    put(d: Device, attributesJson: string): Device {
      misses++;
      if (capacity <= 0) return d;
      const now = clock();
      const full = !entries.has(d.id) && entries.size >= capacity;
      if (full && !admits(d.id, now)) return d;
      let attributes = attributeSets.get(attributesJson);
      if (attributes === undefined) {
        attributes = Object.freeze(d.attributes);
        if (attributeSets.size < MAX_SHARED_ATTRIBUTE_SETS) attributeSets.set(attributesJson, attributes);
      }
      // A copy of the 32-byte digest from Node's shared pool instead of its own allocation per row.
      const entry: Device = { ...d, model: intern(d.model), version: intern(d.version), attributes, tokenHash: Buffer.from(d.tokenHash) };
      // Full: lru-cache evicts the least recently used entry to make room.
      entries.set(d.id, { device: entry, usedAt: now });
      return entry;
    },
    /** The device's credential or facts changed (or may have): read it from the store next time. */
    forget(id: string): void {
      entries.delete(id);
    },
    /**
     * The write-behind stored a poll's last-seen time and installed version:
     * keep the cached copy as current, so a device polling again within the
     * minute is not queued for another write. These two follow what the
     * device last said (set inside the write-behind's transaction); they are
     * no credential, and a lost write-behind slice loses them in the
     * database alike.
     */
    seen(id: string, version: string, at: number): void {
      // Not a use: the entry keeps its place in the order.
      const d = entries.peek(id)?.device;
      if (d === undefined) return;
      d.lastSeen = Math.max(d.lastSeen, at);
      d.version = intern(version);
    },
    stats: () => ({ entries: entries.size, capacity, hits, misses, refusals }),
  };
}
