import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../server/db/open.js';
import { deviceForToken } from '../../server/devices/device-auth.js';
import { createDeviceCache } from '../../server/devices/device-cache.js';
import { createDeviceStore } from '../../server/devices/device-store.js';
import { deviceTokenHash } from '../../server/devices/device-token.js';
import { tempDir } from '../helpers/fixtures.js';

const facts = (id: string) => ({ id, model: 'redmi-1s', version: '1.4.1', attributes: { region: 'eu' } });

function store(cacheEntries: number) {
  const sql = openSqlite(join(tempDir(), 'ota.db'));
  return { sql, devices: createDeviceStore(sql, { cacheEntries }) };
}

describe('device cache in front of the device store', async () => {
  it('serves repeated reads from memory and stays within its capacity', async () => {
    const { devices } = store(2);
    for (const id of ['a', 'b', 'c']) await devices.insert(facts(id), deviceTokenHash(`dev_${id}`), 1);
    await devices.get('a');
    await devices.get('b');
    await devices.get('a');
    await devices.get('c'); // evicts b, the least recently used (no idle rule: plain LRU)
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 1, misses: 3 });
    await devices.get('a');
    await devices.get('b');
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 2, misses: 4 });
  });

  describe('a full cache under a fixed poll cycle', () => {
    const device = (id: string) => ({ ...facts(id), attributes: { region: 'eu' }, tokenHash: Buffer.alloc(32), enrolledAt: 0, lastSeen: 0, lastSeq: -1 });
    /** Every device of a fleet twice the cache's size polls once per cycle, in the same order, for `cycles` cycles. */
    const pollCycles = (cache: ReturnType<typeof createDeviceCache>, clock: { t: number }, fleet: number, cycles: number, cycleMs: number) => {
      for (let c = 0; c < cycles; c++) {
        for (let i = 0; i < fleet; i++) {
          clock.t += cycleMs / fleet;
          const id = `d${i}`;
          if (!cache.get(id)) cache.put(device(id), '{"region":"eu"}');
        }
      }
      return cache.stats();
    };

    it('plain LRU evicts the device that polls next: no poll hits', () => {
      const clock = { t: 0 };
      const cache = createDeviceCache(100, { clock: () => clock.t });
      expect(pollCycles(cache, clock, 200, 5, 900_000)).toMatchObject({ hits: 0, misses: 1000, entries: 100 });
    });

    it('with the idle rule keeps the devices it holds: capacity/fleet of the polls hit', () => {
      const clock = { t: 0 };
      const cache = createDeviceCache(100, { idleMs: 2 * 900_000, clock: () => clock.t });
      const stats = pollCycles(cache, clock, 200, 5, 900_000);
      // The first cycle fills the cache; in each of the four after it the 100 cached devices hit.
      expect(stats).toMatchObject({ hits: 400, misses: 600, entries: 100 });
      expect(stats.refusals).toBe(500);
    });

    it('gives the place of a device that stopped polling to a newcomer', () => {
      const clock = { t: 0 };
      const cache = createDeviceCache(2, { idleMs: 1000, clock: () => clock.t });
      cache.put(device('a'), '{}');
      cache.put(device('b'), '{}');
      clock.t = 500;
      cache.get('b');
      expect(cache.put(device('c'), '{}').id).toBe('c');
      expect(cache.stats()).toMatchObject({ entries: 2, refusals: 1 });
      expect(cache.get('c')).toBeUndefined();
      clock.t = 1000; // a has not been used for 1000 ms: it leaves, c comes in
      cache.put(device('c'), '{}');
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('c')?.id).toBe('c');
      expect(cache.get('b')?.id).toBe('b');
    });

    it('admits a refused newcomer that asks again within the second-sight window, not later', () => {
      const clock = { t: 0 };
      const cache = createDeviceCache(2, { idleMs: 3_600_000, secondSightMs: 60_000, clock: () => clock.t });
      cache.put(device('a'), '{}');
      cache.put(device('b'), '{}');
      cache.put(device('c'), '{}');
      expect(cache.get('c')).toBeUndefined();
      clock.t = 30_000;
      cache.put(device('c'), '{}'); // asked again within the minute: in, in place of a
      expect(cache.get('c')?.id).toBe('c');
      expect(cache.get('a')).toBeUndefined();
      cache.put(device('d'), '{}');
      clock.t = 200_000; // two windows later: d is a newcomer again
      cache.put(device('d'), '{}');
      expect(cache.get('d')).toBeUndefined();
      expect(cache.stats()).toMatchObject({ entries: 2, refusals: 3 });
    });
  });

  it('drops a device on re-enrollment: the replaced token stops working at once', async () => {
    const { sql, devices } = store(10);
    await devices.insert(facts('a'), deviceTokenHash('dev_old'), 1);
    expect((await devices.get('a'))?.tokenHash.equals(deviceTokenHash('dev_old'))).toBe(true);
    await sql.transaction(() => devices.reenroll(facts('a'), deviceTokenHash('dev_new'), 2));
    expect((await devices.get('a'))?.tokenHash.equals(deviceTokenHash('dev_new'))).toBe(true);
  });

  it('never keeps a row a rolled-back transaction wrote', async () => {
    const { sql, devices } = store(10);
    await devices.insert(facts('a'), deviceTokenHash('dev_old'), 1);
    await devices.get('a');
    await expect(
      sql.transaction(async () => {
        await devices.reenroll(facts('a'), deviceTokenHash('dev_new'), 2);
        // Read inside the transaction: the uncommitted row, which must not be cached.
        expect((await devices.get('a'))?.tokenHash.equals(deviceTokenHash('dev_new'))).toBe(true);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await devices.get('a'))?.tokenHash.equals(deviceTokenHash('dev_old'))).toBe(true);
  });

  it('keeps the cached last-seen time and version current with the write-behind', async () => {
    const { devices } = store(10);
    await devices.insert(facts('a'), deviceTokenHash('dev_a'), 1_000);
    await devices.get('a');
    await devices.seen('a', '1.4.3', 90_000);
    expect(await devices.get('a')).toMatchObject({ lastSeen: 90_000, version: '1.4.3' });
    expect(await devices.lastSeen('a')).toBe(90_000);
  });

  it('caches a device, and counts a use of it, only for its own token', async () => {
    const { devices } = store(10);
    await devices.insert(facts('a'), deviceTokenHash('dev_a_own_token_0001'), 1);
    const operators = { authenticate: async () => undefined };
    const authenticate = (token: string) => deviceForToken(devices, operators, 'a', `Bearer ${token}`);

    // A wrong token reads the device (to answer 403 or 401) but leaves nothing in the cache.
    await expect(authenticate('dev_wrong_token_00001')).rejects.toMatchObject({ code: 'unauthorized' });
    expect(devices.cacheStats()).toMatchObject({ entries: 0, hits: 0 });
    // Its own token caches it; the next request with it is answered from memory, counted as a hit.
    expect((await authenticate('dev_a_own_token_0001')).id).toBe('a');
    expect(devices.cacheStats()).toMatchObject({ entries: 1, hits: 0, misses: 1 });
    expect(authenticate('dev_a_own_token_0001')).toMatchObject({ id: 'a' });
    expect(devices.cacheStats()).toMatchObject({ hits: 1 });
    // A wrong token for the cached device is no use of its entry.
    await expect(authenticate('dev_wrong_token_00001')).rejects.toMatchObject({ code: 'unauthorized' });
    expect(devices.cacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
  });

  it('an operator view reads through the cache without filling it', async () => {
    const { devices } = store(10);
    await devices.insert(facts('a'), deviceTokenHash('dev_a'), 1);
    expect((await devices.inspect('a'))?.id).toBe('a');
    expect(devices.cacheStats()).toMatchObject({ entries: 0, hits: 0, misses: 0 });
    await devices.get('a');
    expect((await devices.inspect('a'))?.id).toBe('a');
    expect(devices.cacheStats()).toMatchObject({ entries: 1, hits: 0, misses: 1 });
  });

  it('with capacity 0 reads the store every time', async () => {
    const { devices } = store(0);
    await devices.insert(facts('a'), deviceTokenHash('dev_a'), 1);
    await devices.get('a');
    await devices.get('a');
    expect(devices.cacheStats()).toMatchObject({ entries: 0, hits: 0, misses: 2 });
  });

  it('shares one frozen attribute set between devices that have the same attributes', () => {
    const cache = createDeviceCache(10);
    const device = (id: string) => ({ ...facts(id), attributes: { region: 'eu' }, tokenHash: Buffer.alloc(32), enrolledAt: 0, lastSeen: 0, lastSeq: -1 });
    const a = cache.put(device('a'), '{"region":"eu"}');
    const b = cache.put(device('b'), '{"region":"eu"}');
    expect(a.attributes).toBe(b.attributes);
    expect(Object.isFrozen(a.attributes)).toBe(true);
  });
});
