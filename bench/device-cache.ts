import { parseArgs } from 'node:util';
import { createDeviceCache } from '../server/devices/device-cache.js';
import type { Device } from '../server/devices/device-store.js';

/**
 * The device cache in process, without a server: what a poll of a device
 * not in a full cache costs the cache itself, and how many polls of a fleet
 * larger than the cache it answers from memory.
 *
 * - **Evicting inserts**: `capacity × 5` distinct devices, each missed and
 *   put, against a `Map` kept in use order (delete and set again on use,
 *   the oldest entry is the first key): the structure the cache was until
 *   2026-12-07, kept here as the baseline.
 * - **A fixed poll cycle**: a fleet of `capacity × 2` devices polling in the
 *   same order for five cycles, with and without the idle rule.
 *
 *   npm run build && node dist/bench/device-cache.js [--capacity 20000,200000]
 */
const { values: args } = parseArgs({ options: { capacity: { type: 'string', default: '20000,200000' } } });

const device = (id: string): Device => ({ id, model: 'redmi-1s', version: '1.4.1', attributes: { region: 'eu' }, tokenHash: Buffer.alloc(32), enrolledAt: 0, lastSeen: 0, lastSeq: -1 });

/** The earlier cache's order keeping and eviction, nothing else. */
function mapInUseOrder(capacity: number) {
  const entries = new Map<string, Device>();
  return {
    get(id: string): Device | undefined {
      const d = entries.get(id);
      if (d === undefined) return undefined;
      entries.delete(id);
      entries.set(id, d);
      return d;
    },
    put(d: Device): void {
      entries.set(d.id, d);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
    },
  };
}

/** µs per poll of `polls` distinct devices, each a miss followed by a put. */
function missesThenPuts(cache: { get(id: string): Device | undefined; put(d: Device, json: string): unknown }, polls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < polls; i++) {
    const id = `dev-${i}`;
    if (!cache.get(id)) cache.put(device(id), '{"region":"eu"}');
  }
  return Number(process.hrtime.bigint() - t0) / polls / 1000;
}

for (const capacity of (args.capacity as string).split(',').map(Number)) {
  const polls = capacity * 5;
  const map = missesThenPuts(mapInUseOrder(capacity), polls);
  const lru = missesThenPuts(createDeviceCache(capacity), polls);
  const admitting = missesThenPuts(createDeviceCache(capacity, { idleMs: 2_400_000 }), polls);
  console.log(`capacity ${capacity.toLocaleString()}, ${polls.toLocaleString()} distinct devices, µs per miss and put: Map in use order ${map.toFixed(2)}, cache (plain LRU) ${lru.toFixed(2)}, cache with the idle rule ${admitting.toFixed(2)}`);

  // A fleet twice the cache's size, polling every 15 minutes in the same order.
  for (const idleMs of [0, 2_400_000]) {
    const clock = { t: 0 };
    const cache = createDeviceCache(capacity, { idleMs, clock: () => clock.t });
    const fleet = capacity * 2;
    for (let cycle = 0; cycle < 5; cycle++) {
      for (let i = 0; i < fleet; i++) {
        clock.t += 900_000 / fleet;
        const id = `dev-${i}`;
        if (!cache.get(id)) cache.put(device(id), '{"region":"eu"}');
      }
    }
    const { hits, misses } = cache.stats();
    console.log(`  fleet ${fleet.toLocaleString()}, five 15-minute cycles, ${idleMs ? 'idle rule (40 min)' : 'plain LRU'}: ${((100 * hits) / (hits + misses)).toFixed(1)} % of polls from memory`);
  }
}
