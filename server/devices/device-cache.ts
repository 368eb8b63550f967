import type { AttributeValue } from '../cohorts/cohort.js';
import type { Device } from './device-store.js';

/** Distinct attribute sets shared between cached devices; past this many, each device keeps its own. */
const MAX_SHARED_ATTRIBUTE_SETS = 10_000;

export type DeviceCache = ReturnType<typeof createDeviceCache>;

/**
 * A bounded LRU of devices by id in front of the device store: the poll's
 * authentication reads a device per request, and at fleet scale that read
 * was the largest part of the poll's own CPU (docs/benchmarks.md). It only
 * ever holds committed rows: the store fills it from reads made outside a
 * transaction and drops an entry on every write to that device's
 * credential or facts, so a rolled-back write can never leave a token in
 * memory that the database does not have. Memory stays bounded by
 * `capacity` (0 turns it off), whatever the fleet's size; the strings and
 * attribute sets most devices share are stored once.
 */
export function createDeviceCache(capacity: number) {
  const entries = new Map<string, Device>();
  const strings = new Map<string, string>();
  const attributeSets = new Map<string, Readonly<Record<string, AttributeValue>>>();
  let hits = 0;
  let misses = 0;

  const intern = (s: string): string => {
    const known = strings.get(s);
    if (known !== undefined) return known;
    if (strings.size < MAX_SHARED_ATTRIBUTE_SETS) strings.set(s, s);
    return s;
  };

  return {
    get(id: string): Device | undefined {
      const d = entries.get(id);
      if (d === undefined) {
        misses++;
        return undefined;
      }
      hits++;
      // Most recently used last: Map keeps insertion order, so the first key is the eviction candidate.
      entries.delete(id);
      entries.set(id, d);
      return d;
    },
    /** A committed row as the store read it; `attributesJson` is the stored text, the key for sharing. */
    put(d: Device, attributesJson: string): Device {
      if (capacity <= 0) return d;
      let attributes = attributeSets.get(attributesJson);
      if (attributes === undefined) {
        attributes = Object.freeze(d.attributes);
        if (attributeSets.size < MAX_SHARED_ATTRIBUTE_SETS) attributeSets.set(attributesJson, attributes);
      }
      // A copy of the 32-byte digest from Node's shared pool instead of its own allocation per row.
      const entry: Device = { ...d, model: intern(d.model), version: intern(d.version), attributes, tokenHash: Buffer.from(d.tokenHash) };
      entries.delete(d.id);
      entries.set(d.id, entry);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
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
      const d = entries.get(id);
      if (d === undefined) return;
      d.lastSeen = Math.max(d.lastSeen, at);
      d.version = intern(version);
    },
    stats: () => ({ entries: entries.size, capacity, hits, misses }),
  };
}
