import type { Db } from '../db/open.js';
import type { CounterStore } from '../rollouts/rollout-counters.js';
import { counterKey } from '../rollouts/rollout-counters.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { DeviceStore } from './device-store.js';

const RECORDED_OFFERS = 200_000;

interface Offer {
  rolloutId: string;
  deviceId: string;
  stage: number;
  at: number;
}

/**
 * Write-behind for what polls observe: last-seen times, installed versions
 * and first offers. A poll acknowledges nothing the device sent, so these
 * are batched into one transaction (one fsync) per flush instead of one per
 * poll; report ingestion flushes first, so a report always finds its offer.
 */
export function createActivityBuffer(db: Db, devices: DeviceStore, rolloutDevices: RolloutDeviceStore, counters: CounterStore) {
  let seen = new Map<string, { version: string; at: number }>();
  let offers = new Map<string, Offer>();
  // Offers already written: a device polls the same offer many times, and
  // each repeat would otherwise cost an INSERT OR IGNORE. Bounded; when full
  // it starts over, which only costs those no-op inserts again.
  let recorded = new Set<string>();

  const flushInTransaction = (): void => {
    const s = seen;
    const o = offers;
    seen = new Map();
    offers = new Map();
    for (const [id, v] of s) devices.seen(id, v.version, v.at);
    if (recorded.size + o.size > RECORDED_OFFERS) recorded = new Set();
    for (const [key, offer] of o) {
      recorded.add(key);
      if (rolloutDevices.offer(offer.rolloutId, offer.deviceId, offer.stage, offer.at)) {
        counters.add(offer.rolloutId, counterKey.offered, 1);
        counters.add(offer.rolloutId, counterKey.offeredAt(offer.stage), 1);
      }
    }
  };

  return {
    seen(deviceId: string, version: string, at: number): void {
      seen.set(deviceId, { version, at });
    },
    offered(rolloutId: string, deviceId: string, stage: number, at: number): void {
      const key = `${rolloutId}\u0000${deviceId}`;
      if (!recorded.has(key) && !offers.has(key)) offers.set(key, { rolloutId, deviceId, stage, at });
    },
    /** True when this device's first offer for the rollout is still only in memory. */
    pendingOffer: (rolloutId: string, deviceId: string): boolean => offers.has(`${rolloutId}\u0000${deviceId}`),
    /** Call inside a transaction that is about to read offers. */
    flushInTransaction,
    flush(): void {
      if (seen.size === 0 && offers.size === 0) return;
      // Nothing here was acknowledged to anyone, so this commit skips the fsync
      // (synchronous=NORMAL): the next durable commit (a report, an enrollment)
      // fsyncs the WAL and these frames with it. Only a power cut can lose them.
      db.pragma('synchronous = NORMAL');
      try {
        db.transaction(flushInTransaction)();
      } finally {
        db.pragma('synchronous = FULL');
      }
    },
    get size(): number {
      return seen.size + offers.size;
    },
  };
}

export type ActivityBuffer = ReturnType<typeof createActivityBuffer>;
