import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../server/db/open.js';
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
    await devices.get('c'); // evicts b, the least recently used
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 1, misses: 3 });
    await devices.get('a');
    await devices.get('b');
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 2, misses: 4 });
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
