import { describe, expect, it } from 'vitest';
import type { Sql } from '../../server/db/sql.js';
import { createActivityBuffer } from '../../server/devices/activity-buffer.js';
import type { DeviceStore } from '../../server/devices/device-store.js';
import type { CounterStore } from '../../server/rollouts/rollout-counters.js';
import type { RolloutDeviceStore } from '../../server/rollouts/rollout-device-store.js';

/** Stores that record what they were given; `failNext` makes the next last-seen write fail (a lost connection). */
function fakes() {
  const written = { seen: [] as string[][], offers: [] as string[][], counters: 0 };
  let failNext = false;
  const devices = {
    seenMany: async (rows: { id: string; version: string }[]) => {
      if (failNext) {
        failNext = false;
        throw new Error('connection lost');
      }
      written.seen.push(rows.map((r) => `${r.id}@${r.version}`));
    },
  };
  const rolloutDevices = {
    offerMany: async (offers: { rolloutId: string; deviceId: string; stage: number }[]) => {
      written.offers.push(offers.map((o) => `${o.rolloutId}/${o.deviceId}`));
      return offers.map((o) => ({ rolloutId: o.rolloutId, stage: o.stage }));
    },
  };
  const counters = { addMany: async () => void written.counters++ };
  const sql = { transaction: <T>(work: () => Promise<T>) => work() };
  const buffer = createActivityBuffer(sql as unknown as Sql, devices as unknown as DeviceStore, rolloutDevices as unknown as RolloutDeviceStore, counters as unknown as CounterStore);
  return { buffer, written, fail: () => (failNext = true) };
}

describe('poll write-behind when a slice fails', () => {
  it('keeps what the failed slice took pending, so the next flush writes the offers and last-seen times', async () => {
    const { buffer, written, fail } = fakes();
    buffer.seen('dev-1', '1.4.1', 1000);
    buffer.offered('r-1', 'dev-1', 0, 1000);
    fail();
    // The last-seen update fails while the first offer goes out with it: the transaction rolls both back.
    await expect(buffer.flushInTransaction()).rejects.toThrow('connection lost');
    expect(buffer.pendingOffer('r-1', 'dev-1')).toBe(true);
    // A poll seen meanwhile keeps its newer value; the offer is not taken twice.
    buffer.seen('dev-1', '1.4.2', 2000);
    buffer.offered('r-1', 'dev-1', 0, 2000);
    await buffer.flushInTransaction();
    expect(written.seen).toEqual([['dev-1@1.4.2']]);
    expect(written.offers).toEqual([['r-1/dev-1'], ['r-1/dev-1']]);
    expect(buffer.pendingOffer('r-1', 'dev-1')).toBe(false);
    expect(buffer.knownOffer('r-1', 'dev-1')).toBe(true);
  });
});
