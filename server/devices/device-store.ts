import type { Db } from '../db/open.js';
import type { AttributeValue, DeviceFacts } from '../cohorts/cohort.js';
import { createDeviceCache } from './device-cache.js';

export interface Device extends DeviceFacts {
  tokenHash: Buffer;
  enrolledAt: number;
  lastSeen: number;
  lastSeq: number;
}

interface DeviceRow {
  id: string;
  token_hash: Buffer;
  model: string;
  version: string;
  attributes: string;
  enrolled_at: number;
  last_seen: number;
  last_seq: number;
}

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  tokenHash: r.token_hash,
  model: r.model,
  version: r.version,
  attributes: JSON.parse(r.attributes) as Record<string, AttributeValue>,
  enrolledAt: r.enrolled_at,
  lastSeen: r.last_seen,
  lastSeq: r.last_seq,
});

export type DeviceStore = ReturnType<typeof createDeviceStore>;

/**
 * Devices by id, with a bounded cache (device-cache.ts) in front of the
 * read every poll and report makes. Every write to a device's credential
 * or facts goes through this store, which drops the cached copy: a write
 * elsewhere must call `forget(id)`.
 */
export function createDeviceStore(db: Db, opts: { cacheEntries?: number } = {}) {
  const cache = createDeviceCache(opts.cacheEntries ?? 0);
  const getStmt = db.prepare<[string], DeviceRow>(
    'SELECT id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq FROM devices WHERE id = ?',
  );
  const idByTokenStmt = db.prepare<[Buffer], string>('SELECT id FROM devices WHERE token_hash = ?').pluck();
  const insertStmt = db.prepare(
    // last_seq -1: a device's first report may carry seq 0 (protocol §7 only says "increasing").
    'INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, -1)',
  );
  const reenrollStmt = db.prepare('UPDATE devices SET token_hash = ?, model = ?, version = ?, attributes = ?, last_seen = ? WHERE id = ?');
  const seenStmt = db.prepare('UPDATE devices SET last_seen = max(last_seen, ?), version = ? WHERE id = ?');
  const lastSeqStmt = db.prepare('UPDATE devices SET last_seq = ? WHERE id = ?');
  const lastSeqOfStmt = db.prepare<[string], number>('SELECT last_seq FROM devices WHERE id = ?').pluck();
  const countStmt = db.prepare<[], number>('SELECT COUNT(*) FROM devices').pluck();
  const afterStmt = db.prepare<[string, number], DeviceRow>(
    'SELECT id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq FROM devices WHERE id > ? ORDER BY id LIMIT ?',
  );
  const lastSeenStmt = db.prepare<[string], number>('SELECT last_seen FROM devices WHERE id = ?').pluck();

  return {
    get(id: string): Device | undefined {
      // Inside a transaction the row may be uncommitted: read it, but never cache it.
      const inTransaction = db.inTransaction;
      if (!inTransaction) {
        const cached = cache.get(id);
        if (cached) return cached;
      }
      const row = getStmt.get(id);
      if (!row) return undefined;
      return inTransaction ? toDevice(row) : cache.put(toDevice(row), row.attributes);
    },
    idByTokenHash: (hash: Buffer): string | undefined => idByTokenStmt.get(hash) as string | undefined,
    insert(d: DeviceFacts, tokenHash: Buffer, at: number): void {
      cache.forget(d.id);
      insertStmt.run(d.id, tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, at);
    },
    reenroll(d: DeviceFacts, tokenHash: Buffer, at: number): void {
      // protocol §7: the replaced token stops working at once, on this read path too.
      cache.forget(d.id);
      reenrollStmt.run(tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, d.id);
    },
    seen(id: string, version: string, at: number): void {
      seenStmt.run(at, version, id);
      cache.seen(id, version, at);
    },
    /** Drops the cached copy of a device changed outside this store. */
    forget: (id: string): void => cache.forget(id),
    cacheStats: () => cache.stats(),
    setLastSeq: (id: string, seq: number): void => void lastSeqStmt.run(seq, id),
    lastSeqOf: (id: string): number | undefined => lastSeqOfStmt.get(id) as number | undefined,
    count: (): number => countStmt.get() as number,
    /** The next `limit` devices by id after `afterId` (operators' listing walks the table in windows). */
    after: (afterId: string, limit: number): Device[] => afterStmt.all(afterId, limit).map(toDevice),
    lastSeen: (id: string): number | undefined => lastSeenStmt.get(id) as number | undefined,
  };
}
