import type { Sql } from '../db/sql.js';
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
export function createDeviceStore(sql: Sql, opts: { cacheEntries?: number } = {}) {
  const cache = createDeviceCache(opts.cacheEntries ?? 0);
  const COLUMNS = 'SELECT id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq FROM devices';

  return {
    /**
     * The cached copy, from memory only (the poll's fast path: no promise, no wait).
     * Inside a transaction nothing is served from the cache: the row may be uncommitted there.
     */
    peek: (id: string): Device | undefined => (sql.inTransaction() ? undefined : cache.get(id)),
    async get(id: string): Promise<Device | undefined> {
      // Inside a transaction the row may be uncommitted: read it, but never cache it.
      const inTransaction = sql.inTransaction();
      if (!inTransaction) {
        const cached = cache.get(id);
        if (cached) return cached;
      }
      const row = await sql.one<DeviceRow>(`${COLUMNS} WHERE id = ?`, [id]);
      if (!row) return undefined;
      return inTransaction ? toDevice(row) : cache.put(toDevice(row), row.attributes);
    },
    idByTokenHash: (hash: Buffer): Promise<string | undefined> => sql.value<string>('SELECT id FROM devices WHERE token_hash = ?', [hash]),
    async insert(d: DeviceFacts, tokenHash: Buffer, at: number): Promise<void> {
      cache.forget(d.id);
      // last_seq -1: a device's first report may carry seq 0 (protocol §7 only says "increasing").
      await sql.run('INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, -1)',
        [d.id, tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, at]);
    },
    async reenroll(d: DeviceFacts, tokenHash: Buffer, at: number): Promise<void> {
      // protocol §7: the replaced token stops working at once, on this read path too.
      cache.forget(d.id);
      await sql.run('UPDATE devices SET token_hash = ?, model = ?, version = ?, attributes = ?, last_seen = ? WHERE id = ?',
        [tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, d.id]);
      // Forgotten again: a poll may have cached the old row while the update waited its turn.
      cache.forget(d.id);
    },
    /** A device protocol in which the device states its own facts (protocol §11 configData, §12 inventory). */
    async setFacts(d: DeviceFacts, at: number): Promise<void> {
      cache.forget(d.id);
      await sql.run('UPDATE devices SET model = ?, version = ?, attributes = ?, last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END WHERE id = ?',
        [d.model, d.version, JSON.stringify(d.attributes), at, at, d.id]);
      cache.forget(d.id);
    },
    async seen(id: string, version: string, at: number): Promise<void> {
      await sql.run('UPDATE devices SET last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END, version = ? WHERE id = ?', [at, at, version, id]);
      cache.seen(id, version, at);
    },
    /** Drops the cached copy of a device changed outside this store. */
    forget: (id: string): void => cache.forget(id),
    cacheStats: () => cache.stats(),
    async setLastSeq(id: string, seq: number): Promise<void> {
      await sql.run('UPDATE devices SET last_seq = ? WHERE id = ?', [seq, id]);
    },
    lastSeqOf: (id: string): Promise<number | undefined> => sql.value<number>('SELECT last_seq FROM devices WHERE id = ?', [id]),
    count: async (): Promise<number> => (await sql.value<number>('SELECT COUNT(*) FROM devices')) ?? 0,
    /** The next `limit` devices by id after `afterId` (operators' listing walks the table in windows). */
    after: async (afterId: string, limit: number): Promise<Device[]> =>
      (await sql.all<DeviceRow>(`${COLUMNS} WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit])).map(toDevice),
    lastSeen: (id: string): Promise<number | undefined> => sql.value<number>('SELECT last_seen FROM devices WHERE id = ?', [id]),
  };
}
