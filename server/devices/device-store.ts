import type { ChangeFeed } from '../cluster/change-feed.js';
import { coalescedReads } from '../db/coalesced-reads.js';
import { insertRows, rowSet, rowSetParam, type RowSetColumns } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';
import type { AttributeValue, DeviceFacts } from '../cohorts/cohort.js';
import { createDeviceCache, type DeviceCacheOptions } from './device-cache.js';

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

/** A new device's row (enrollment writes a group of them at once). */
const NEW_DEVICE_COLUMNS: RowSetColumns = { id: 'text', token_hash: 'bytes', model: 'text', version: 'text', attributes: 'text', enrolled_at: 'int', last_seen: 'int', last_seq: 'int' };

/**
 * Devices by id, with a bounded cache (device-cache.ts) in front of the
 * read every poll and report makes. Every write to a device's credential
 * or facts goes through this store, which drops the cached copy: a write
 * elsewhere must call `forget(id)`.
 */
export function createDeviceStore(sql: Sql, opts: { cacheEntries?: number; cache?: DeviceCacheOptions } = {}) {
  const cache = createDeviceCache(opts.cacheEntries ?? 0, opts.cache);
  const COLUMNS = 'SELECT id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq FROM devices';

  const readRow = coalescedReads<DeviceRow>(sql, async (ids) => {
    const rows = ids.length === 1
      ? await sql.all<DeviceRow>(`${COLUMNS} WHERE id = ?`, [ids[0] as string])
      : await sql.all<DeviceRow>(`SELECT devices.id, devices.token_hash, devices.model, devices.version, devices.attributes, devices.enrolled_at, devices.last_seen, devices.last_seq
        FROM ${rowSet(sql, 'k', { id: 'text' })} JOIN devices ON devices.id = k.id`, [rowSetParam(ids.map((id) => ({ id })))]);
    return new Map(rows.map((r) => [r.id, r]));
  });

  return {
    /**
     * The cached copy, from memory only (the poll's fast path: no promise, no wait), with no effect
     * on the cache: for a look before the credential is checked (then `recall`).
     * Inside a transaction nothing is served from the cache: the row may be uncommitted there.
     */
    peek: (id: string): Device | undefined => (sql.inTransaction() ? undefined : cache.peek(id)),
    /** As `peek`, counted as a use of the entry (device-cache.ts `get`): the device's credential was checked. */
    recall: (id: string): Device | undefined => (sql.inTransaction() ? undefined : cache.get(id)),
    /**
     * The device, from the cache or the store. Read from the store, it is cached only if `accept`
     * (when given) takes it: the poll's authentication caches a device only for its own token, so
     * requests with a wrong one neither fill the cache nor keep devices in it.
     */
    async get(id: string, accept?: (d: Device) => boolean): Promise<Device | undefined> {
      // Inside a transaction the row may be uncommitted: read it, but never cache it.
      const inTransaction = sql.inTransaction();
      if (!inTransaction) {
        const cached = cache.peek(id);
        if (cached) return accept === undefined || accept(cached) ? cache.get(id) : cached;
      }
      if (inTransaction) {
        const row = await sql.one<DeviceRow>(`${COLUMNS} WHERE id = ?`, [id]);
        return row && toDevice(row);
      }
      // A cache miss outside a transaction (a cold poll): misses of one turn share one read on PostgreSQL.
      const row = await readRow(id);
      if (!row) return undefined;
      const device = toDevice(row);
      return accept === undefined || accept(device) ? cache.put(device, row.attributes) : device;
    },
    /**
     * A device for an operator's view (listings, the device page): the cached copy if there is one,
     * else read from the store and not cached. Operator reads neither fill the cache nor keep
     * devices in it: its places are for the devices that poll.
     */
    async inspect(id: string): Promise<Device | undefined> {
      const cached = sql.inTransaction() ? undefined : cache.peek(id);
      if (cached) return cached;
      const row = await sql.one<DeviceRow>(`${COLUMNS} WHERE id = ?`, [id]);
      return row && toDevice(row);
    },
    idByTokenHash: (hash: Buffer): Promise<string | undefined> => sql.value<string>('SELECT id FROM devices WHERE token_hash = ?', [hash]),
    async insert(d: DeviceFacts, tokenHash: Buffer, at: number): Promise<void> {
      cache.forget(d.id);
      // last_seq -1: a device's first report may carry seq 0 (protocol §7 only says "increasing").
      await sql.run('INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, -1)',
        [d.id, tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, at]);
    },
    /**
     * Many devices by id, read in one statement and never cached (inside a group: rows may be
     * uncommitted), each with when it was decommissioned (null while in service).
     */
    async getMany(ids: readonly string[]): Promise<Map<string, Device & { decommissionedAt: number | null }>> {
      if (ids.length === 0) return new Map();
      const rows = await sql.all<DeviceRow & { decommissioned_at: number | null }>(`SELECT devices.id, devices.token_hash, devices.model, devices.version, devices.attributes, devices.enrolled_at, devices.last_seen, devices.last_seq, devices.decommissioned_at
        FROM ${rowSet(sql, 'k', { id: 'text' })} JOIN devices ON devices.id = k.id`, [rowSetParam(ids.map((id) => ({ id })))]);
      return new Map(rows.map((r) => [r.id, { ...toDevice(r), decommissionedAt: r.decommissioned_at === null ? null : Number(r.decommissioned_at) }]));
    },
    /** Many new devices in one statement (a group's enrollments). */
    async insertMany(ds: readonly { facts: DeviceFacts; tokenHash: Buffer; at: number }[]): Promise<void> {
      if (ds.length === 0) return;
      for (const d of ds) cache.forget(d.facts.id);
      // last_seq -1: a device's first report may carry seq 0 (protocol §7 only says "increasing").
      await insertRows(sql, 'devices', NEW_DEVICE_COLUMNS, ds.map((d) => ({
        id: d.facts.id, token_hash: d.tokenHash, model: d.facts.model, version: d.facts.version, attributes: JSON.stringify(d.facts.attributes), enrolled_at: d.at, last_seen: d.at, last_seq: -1,
      })));
    },
    async reenroll(d: DeviceFacts, tokenHash: Buffer, at: number): Promise<void> {
      // protocol §7: the replaced token stops working at once, on this read path too.
      cache.forget(d.id);
      await sql.run('UPDATE devices SET token_hash = ?, model = ?, version = ?, attributes = ?, last_seen = ? WHERE id = ?',
        [tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, d.id]);
      // Forgotten again: a poll may have cached the old row while the update waited its turn.
      cache.forget(d.id);
    },
    /**
     * A device's facts as a device protocol reports them (hawkBit configData, Mender inventory):
     * model, installed version and attributes, in one write; `at` also counts as the device being
     * seen. Returns false when no such device.
     */
    async setFacts(d: DeviceFacts, at = 0): Promise<boolean> {
      cache.forget(d.id);
      const changed = await sql.run('UPDATE devices SET model = ?, version = ?, attributes = ?, last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END WHERE id = ?',
        [d.model, d.version, JSON.stringify(d.attributes), at, at, d.id]);
      // Forgotten again: a poll may have cached the old row while the update waited its turn.
      cache.forget(d.id);
      return changed > 0;
    },
    async seen(id: string, version: string, at: number): Promise<void> {
      await sql.run('UPDATE devices SET last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END, version = ? WHERE id = ?', [at, at, version, id]);
      cache.seen(id, version, at);
    },
    /**
     * protocol §7 decommission: the credential is replaced by a digest no token has (so every
     * token of the device is refused from the next request on) and the row is marked, kept for
     * the record. False when there is no such device or it was already decommissioned.
     */
    async decommission(id: string, unusableTokenHash: Buffer, at: number): Promise<boolean> {
      cache.forget(id);
      const changed = await sql.run('UPDATE devices SET token_hash = ?, decommissioned_at = ? WHERE id = ? AND decommissioned_at IS NULL', [unusableTokenHash, at, id]);
      cache.forget(id);
      return changed === 1;
    },
    /** When the device was decommissioned (epoch ms), null while in service, undefined for no such device. */
    decommissionedAt: async (id: string): Promise<number | null | undefined> => {
      const row = await sql.one<{ at: number | null }>('SELECT decommissioned_at AS "at" FROM devices WHERE id = ?', [id]);
      return row === undefined ? undefined : row.at === null ? null : Number(row.at);
    },
    /** An enroller brings a decommissioned id back into service: new credential, the enroller's facts. */
    async reinstate(d: DeviceFacts, tokenHash: Buffer, at: number): Promise<void> {
      cache.forget(d.id);
      await sql.run('UPDATE devices SET token_hash = ?, model = ?, version = ?, attributes = ?, last_seen = ?, decommissioned_at = NULL WHERE id = ?',
        [tokenHash, d.model, d.version, JSON.stringify(d.attributes), at, d.id]);
      cache.forget(d.id);
    },
    /** Drops the cached copy of a device changed outside this store. */
    forget: (id: string): void => cache.forget(id),
    /** protocol §7 + §9: a device another node re-enrolled or changed is dropped from this node's cache. */
    follow: (changes: Pick<ChangeFeed, 'subscribe'>): (() => void) =>
      changes.subscribe((c) => {
        if (c.topic === 'device' && c.key !== null) cache.forget(c.key);
      }),
    cacheStats: () => cache.stats(),
    async setLastSeq(id: string, seq: number): Promise<void> {
      await sql.run('UPDATE devices SET last_seq = ? WHERE id = ?', [seq, id]);
    },
    /** Each device's last seq (absent: no such device), one statement for a group. */
    async lastSeqsOf(ids: readonly string[]): Promise<Map<string, number>> {
      if (ids.length === 0) return new Map();
      const rows = await sql.all<{ id: string; last_seq: number }>(
        `SELECT devices.id, devices.last_seq FROM ${rowSet(sql, 'k', { id: 'text' })} JOIN devices ON devices.id = k.id`, [rowSetParam(ids.map((id) => ({ id })))]);
      return new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
    },
    /** Many devices' last seqs in one statement. */
    async setLastSeqs(rows: readonly { id: string; seq: number }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql.run(`UPDATE devices SET last_seq = k.seq FROM ${rowSet(sql, 'k', { id: 'text', seq: 'int' })} WHERE devices.id = k.id`, [rowSetParam(rows)]);
    },
    /** Many devices' last-seen times (never moved back) and installed versions in one statement: the poll write-behind. */
    async seenMany(rows: readonly { id: string; version: string; at: number }[]): Promise<void> {
      if (rows.length === 0) return;
      await sql.run(`UPDATE devices SET last_seen = CASE WHEN devices.last_seen > k.at THEN devices.last_seen ELSE k.at END, version = k.version
        FROM ${rowSet(sql, 'k', { id: 'text', version: 'text', at: 'int' })} WHERE devices.id = k.id`, [rowSetParam(rows)]);
      for (const r of rows) cache.seen(r.id, r.version, r.at);
    },
    lastSeqOf: (id: string): Promise<number | undefined> => sql.value<number>('SELECT last_seq FROM devices WHERE id = ?', [id]),
    count: async (): Promise<number> => (await sql.value<number>('SELECT COUNT(*) FROM devices')) ?? 0,
    /** The next `limit` devices by id after `afterId` (operators' listing walks the table in windows). */
    after: async (afterId: string, limit: number): Promise<Device[]> =>
      (await sql.all<DeviceRow>(`${COLUMNS} WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit])).map(toDevice),
    /** As `after`, skipping decommissioned devices (protocol §7): the eligibility census walks these. */
    inServiceAfter: async (afterId: string, limit: number): Promise<Device[]> =>
      (await sql.all<DeviceRow>(`${COLUMNS} WHERE id > ? AND decommissioned_at IS NULL ORDER BY id LIMIT ?`, [afterId, limit])).map(toDevice),
    lastSeen: (id: string): Promise<number | undefined> => sql.value<number>('SELECT last_seen FROM devices WHERE id = ?', [id]),
  };
}
