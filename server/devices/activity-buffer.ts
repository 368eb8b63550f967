import { together, type Sql } from '../db/sql.js';
import type { CounterStore } from '../rollouts/rollout-counters.js';
import { counterKey } from '../rollouts/rollout-counters.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import { ADVISORY_LOCK } from '../cluster/advisory-locks.js';
import type { DeviceStore } from './device-store.js';

const RECORDED_OFFERS = 200_000;
/** Rows per background transaction: a few set-based statements each, short enough not to hold the loop (JSON of the rows). */
const FLUSH_SLICE = 1000;

interface Offer {
  rolloutId: string;
  deviceId: string;
  stage: number;
  at: number;
}

/**
 * Write-behind for what polls observe: last-seen times, installed versions
 * and first offers. A poll acknowledges nothing the device sent, so these
 * are batched instead of written per poll; report ingestion flushes what is
 * pending first, in its own transaction, so a report always finds its offer.
 */
export function createActivityBuffer(sql: Sql, devices: DeviceStore, rolloutDevices: RolloutDeviceStore, counters: CounterStore) {
  const seen = new Map<string, { version: string; at: number }>();
  const offers = new Map<string, Offer>();
  // Offers already written: a device polls the same offer many times, and
  // each repeat would otherwise cost an INSERT OR IGNORE. Bounded; when full
  // it starts over, which only costs those no-op inserts again.
  let recorded = new Set<string>();

  /**
   * Writes (and forgets) up to `limit` pending entries, oldest first, with a
   * fixed few statements whatever their number (issue 20: one statement per
   * row was a round trip each on PostgreSQL); returns how many remain.
   */
  const writeSome = async (limit: number): Promise<number> => {
    let budget = limit;
    const seenRows: { id: string; version: string; at: number }[] = [];
    for (const [id, v] of seen) {
      if (budget-- <= 0) break;
      seen.delete(id);
      seenRows.push({ id, ...v });
    }
    if (recorded.size + offers.size > RECORDED_OFFERS) recorded = new Set();
    const offerRows: Offer[] = [];
    for (const [key, offer] of offers) {
      if (budget-- <= 0) break;
      offers.delete(key);
      recorded.add(key);
      offerRows.push(offer);
    }
    // New offers are counted per rollout and stage, then added once per counter, in the same
    // transaction as the rows they count; pairs already offered (another node, a report) count nothing.
    const moves = new Map<string, { rolloutId: string; key: string; delta: number }>();
    const count = (rolloutId: string, key: string): void => {
      const k = `${rolloutId}\u0000${key}`;
      const m = moves.get(k);
      if (m) m.delta++;
      else moves.set(k, { rolloutId, key, delta: 1 });
    };
    try {
      // Devices and offers are apart, so both statements go together (one round trip on PostgreSQL).
      const [, fresh] = await together([devices.seenMany(seenRows), rolloutDevices.offerMany(offerRows)]);
      for (const { rolloutId, stage } of fresh) {
        count(rolloutId, counterKey.offered);
        count(rolloutId, counterKey.offeredAt(stage));
      }
      await counters.addMany([...moves.values()]);
    } catch (e) {
      // The slice's transaction rolls back: what it took is pending again, so the next flush (or the
      // careful retry of a report group) writes it. A poll seen since keeps its newer values.
      for (const { id, version, at } of seenRows) if (!seen.has(id)) seen.set(id, { version, at });
      for (const offer of offerRows) {
        const key = `${offer.rolloutId}\u0000${offer.deviceId}`;
        recorded.delete(key);
        if (!offers.has(key)) offers.set(key, offer);
      }
      throw e;
    }
    return seen.size + offers.size;
  };

  const flushInTransaction = async (): Promise<void> => void (await writeSome(Number.POSITIVE_INFINITY));

  let flushing = false;
  /**
   * Background flush in slices of FLUSH_SLICE rows, one short transaction
   * each with event-loop turns between them, so polls never wait behind a
   * long write. Nothing here was acknowledged to anyone, so these commits
   * are not durable ones (`durable: false`; SQLite: synchronous=NORMAL):
   * the next durable commit (a report, an enrollment) carries them to disk
   * with its own. A process crash loses none of it; only a power cut can.
   */
  let flushed: Promise<void> = Promise.resolve();
  const flushSlices = async (): Promise<void> => {
    try {
      while ((await sql.transaction(() => writeSome(FLUSH_SLICE), { durable: false, lock: ADVISORY_LOCK.fleetWrites })) > 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      flushing = false;
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
    /** True when this node saw the offer made: pending, or written by a recent flush (the store knows of others). */
    knownOffer: (rolloutId: string, deviceId: string): boolean => {
      const key = `${rolloutId}\u0000${deviceId}`;
      return offers.has(key) || recorded.has(key);
    },
    /** Call inside a transaction that is about to read offers. */
    flushInTransaction,
    /**
     * Starts a background flush (no-op while one runs) and returns it; a
     * failed flush rejects (the caller logs it), what its failed slice took
     * is pending again, and the next one retries it. Call `flushAll` to
     * write everything now.
     */
    flush(): Promise<void> {
      if (flushing) return flushed;
      if (seen.size + offers.size === 0) return Promise.resolve();
      flushing = true;
      flushed = flushSlices();
      return flushed;
    },
    /** Everything, now, in one transaction, after any background flush ends (shutdown, tests). */
    async flushAll(): Promise<void> {
      await flushed.catch(() => undefined);
      if (seen.size + offers.size > 0) {
        await sql.transaction(flushInTransaction, { lock: ADVISORY_LOCK.fleetWrites });
      }
    },
    get size(): number {
      return seen.size + offers.size;
    },
  };
}

export type ActivityBuffer = ReturnType<typeof createActivityBuffer>;
