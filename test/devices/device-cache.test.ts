import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.js';
import { createDeviceCache } from '../../server/devices/device-cache.js';
import { createDeviceStore } from '../../server/devices/device-store.js';
import { deviceTokenHash } from '../../server/devices/device-token.js';
import { tempDir } from '../helpers/fixtures.js';

const facts = (id: string) => ({ id, model: 'redmi-1s', version: '1.4.1', attributes: { region: 'eu' } });

function store(cacheEntries: number) {
  const db = openDatabase(join(tempDir(), 'ota.db'));
  return { db, devices: createDeviceStore(db, { cacheEntries }) };
}

describe('device cache in front of the device store', () => {
  it('serves repeated reads from memory and stays within its capacity', () => {
    const { devices } = store(2);
    for (const id of ['a', 'b', 'c']) devices.insert(facts(id), deviceTokenHash(`dev_${id}`), 1);
    devices.get('a');
    devices.get('b');
    devices.get('a');
    devices.get('c'); // evicts b, the least recently used
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 1, misses: 3 });
    devices.get('a');
    devices.get('b');
    expect(devices.cacheStats()).toMatchObject({ entries: 2, hits: 2, misses: 4 });
  });

  it('drops a device on re-enrollment: the replaced token stops working at once', () => {
    const { db, devices } = store(10);
    devices.insert(facts('a'), deviceTokenHash('dev_old'), 1);
    expect(devices.get('a')?.tokenHash.equals(deviceTokenHash('dev_old'))).toBe(true);
    db.transaction(() => devices.reenroll(facts('a'), deviceTokenHash('dev_new'), 2))();
    expect(devices.get('a')?.tokenHash.equals(deviceTokenHash('dev_new'))).toBe(true);
  });

  it('never keeps a row a rolled-back transaction wrote', () => {
    const { db, devices } = store(10);
    devices.insert(facts('a'), deviceTokenHash('dev_old'), 1);
    devices.get('a');
    expect(() =>
      db.transaction(() => {
        devices.reenroll(facts('a'), deviceTokenHash('dev_new'), 2);
        // Read inside the transaction: the uncommitted row, which must not be cached.
        expect(devices.get('a')?.tokenHash.equals(deviceTokenHash('dev_new'))).toBe(true);
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(devices.get('a')?.tokenHash.equals(deviceTokenHash('dev_old'))).toBe(true);
  });

  it('keeps the cached last-seen time and version current with the write-behind', () => {
    const { devices } = store(10);
    devices.insert(facts('a'), deviceTokenHash('dev_a'), 1_000);
    devices.get('a');
    devices.seen('a', '1.4.3', 90_000);
    expect(devices.get('a')).toMatchObject({ lastSeen: 90_000, version: '1.4.3' });
    expect(devices.lastSeen('a')).toBe(90_000);
  });

  it('with capacity 0 reads the store every time', () => {
    const { devices } = store(0);
    devices.insert(facts('a'), deviceTokenHash('dev_a'), 1);
    devices.get('a');
    devices.get('a');
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
