import { rowSet, rowSetParam, SELECT_ALL_ROWS } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';

/** A device a rollout offered its release to, with its latest reported (or derived) state. */
export interface RolloutDevice {
  rolloutId: string;
  deviceId: string;
  stage: number;
  offeredAt: number;
  state: string | null;
  stateAt: number | null;
  settings: string | null;
}

/** A rollout's device as operators list it: its last poll and what its latest report said went wrong. */
export interface ListedDevice extends RolloutDevice {
  lastSeen: number | null;
  error: { code: string; message: string } | null;
}

interface Row {
  rollout_id: string;
  device_id: string;
  stage: number;
  offered_at: number;
  state: string | null;
  state_at: number | null;
  settings: string | null;
}

const toDevice = (r: Row): RolloutDevice => ({
  rolloutId: r.rollout_id,
  deviceId: r.device_id,
  stage: r.stage,
  offeredAt: r.offered_at,
  state: r.state,
  stateAt: r.state_at,
  settings: r.settings,
});

/** The key of a (rollout, device) pair in the maps of a group (getMany). */
export const rolloutDeviceKey = (rolloutId: string, deviceId: string): string => `${rolloutId}\u0000${deviceId}`;

export type RolloutDeviceStore = ReturnType<typeof createRolloutDeviceStore>;

/**
 * A page of one state in device-id order, spelled as the by-state index's own order (rollout, state,
 * device): with rollout and state fixed it is device-id order, and PostgreSQL's planner then walks that
 * index. Ordered by device id alone it walked the primary key and filtered on state, and the devices
 * that had reported sat first in id order: 40,000 rows read for a status's 20 silent devices after a
 * wave of reports, 12-24 ms instead of 0.5 (issue 20's status p99). SQLite is told the index by name.
 */
const BY_STATE_ORDER = 'ORDER BY rollout_id, state, device_id';

export function createRolloutDeviceStore(sql: Sql) {
  // Indexes named to the planner that needs it (SQLite; see Dialect.indexedBy).
  const indexed = (name: string): string => sql.dialect.indexedBy(name);
  const rows = async (text: string, params: (string | number)[]): Promise<RolloutDevice[]> => (await sql.all<Row>(text, params)).map(toDevice);

  return {
    async get(rolloutId: string, deviceId: string): Promise<RolloutDevice | undefined> {
      const row = await sql.one<Row>('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId]);
      return row && toDevice(row);
    },
    /** Many (rollout, device) pairs in one statement, keyed by rolloutDeviceKey; absent pairs were never offered. */
    async getMany(pairs: readonly { rolloutId: string; deviceId: string }[]): Promise<Map<string, RolloutDevice>> {
      if (pairs.length === 0) return new Map();
      const found = await sql.all<Row>(`SELECT rollout_devices.* FROM ${rowSet(sql, 'k', { r: 'text', d: 'text' })}
        JOIN rollout_devices ON rollout_devices.rollout_id = k.r AND rollout_devices.device_id = k.d`,
      [rowSetParam(pairs.map((p) => ({ r: p.rolloutId, d: p.deviceId })))]);
      return new Map(found.map((r) => { const d = toDevice(r); return [rolloutDeviceKey(d.rolloutId, d.deviceId), d]; }));
    },
    /**
     * Many devices' latest states in one statement: a row not there yet is
     * offered and stored with its state; an existing row keeps its stage and
     * offer time (a group's reports after the poll write-behind).
     */
    async writeMany(ds: readonly RolloutDevice[]): Promise<void> {
      if (ds.length === 0) return;
      await sql.run(`INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at, state, state_at, settings)
        SELECT k.r, k.d, k.stage, k.o, k.st, k.sa, k.se FROM ${rowSet(sql, 'k', { r: 'text', d: 'text', stage: 'int', o: 'int', st: 'text', sa: 'int', se: 'text' })} ${SELECT_ALL_ROWS}
        ON CONFLICT (rollout_id, device_id) DO UPDATE SET state = excluded.state, state_at = excluded.state_at, settings = excluded.settings`,
      [rowSetParam(ds.map((d) => ({ r: d.rolloutId, d: d.deviceId, stage: d.stage, o: d.offeredAt, st: d.state, sa: d.stateAt, se: d.settings })))]);
    },
    /** Records many first offers in one statement; returns the ones that were new (already offered pairs are left alone). */
    offerMany: async (offers: readonly { rolloutId: string; deviceId: string; stage: number; at: number }[]): Promise<{ rolloutId: string; stage: number }[]> =>
      offers.length === 0 ? [] : (await sql.all<{ rollout_id: string; stage: number }>(`INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at)
        SELECT k.r, k.d, k.stage, k.at FROM ${rowSet(sql, 'k', { r: 'text', d: 'text', stage: 'int', at: 'int' })} ${SELECT_ALL_ROWS}
        ON CONFLICT (rollout_id, device_id) DO NOTHING RETURNING rollout_id, stage`,
      [rowSetParam(offers.map((o) => ({ r: o.rolloutId, d: o.deviceId, stage: o.stage, at: o.at })))])).map((r) => ({ rolloutId: r.rollout_id, stage: Number(r.stage) })),
    wasOffered: async (rolloutId: string, deviceId: string): Promise<boolean> =>
      (await sql.value('SELECT 1 FROM rollout_devices WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId])) !== undefined,
    /** Records a first offer; true when it is new. */
    offer: async (rolloutId: string, deviceId: string, stage: number, at: number): Promise<boolean> =>
      (await sql.run('INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at) VALUES (?, ?, ?, ?) ON CONFLICT (rollout_id, device_id) DO NOTHING',
        [rolloutId, deviceId, stage, at])) === 1,
    async setState(d: Pick<RolloutDevice, 'rolloutId' | 'deviceId' | 'state' | 'stateAt' | 'settings'>): Promise<void> {
      await sql.run('UPDATE rollout_devices SET state = ?, state_at = ?, settings = ? WHERE rollout_id = ? AND device_id = ?',
        [d.state, d.stateAt, d.settings, d.rolloutId, d.deviceId]);
    },
    /** Devices stuck in a non-terminal state since before `before` (protocol §5 timed_out). */
    stale: (rolloutId: string, before: number, limit: number): Promise<RolloutDevice[]> =>
      rows(`SELECT * FROM rollout_devices ${indexed('rollout_devices_in_progress')}
        WHERE rollout_id = ? AND state IN ('received', 'downloading', 'downloaded', 'installing') AND state_at < ? LIMIT ?`, [rolloutId, before, limit]),
    /** Whether the device's latest state is `state` (null: offered, never reported) in some rollout. */
    inStateAnywhere: async (deviceId: string, state: string | null): Promise<boolean> =>
      // Any rollout: the IN list lets the primary key (rollout_id, device_id) serve once per rollout.
      (await (state === null
        ? sql.value('SELECT 1 FROM rollout_devices WHERE rollout_id IN (SELECT id FROM rollouts) AND device_id = ? AND state IS NULL LIMIT 1', [deviceId])
        : sql.value('SELECT 1 FROM rollout_devices WHERE rollout_id IN (SELECT id FROM rollouts) AND device_id = ? AND state = ? LIMIT 1', [deviceId, state]))) !== undefined,
    /** Paged by device id; state 'silent' = offered, never reported. */
    page(rolloutId: string, state: string | undefined, after: string, limit: number): Promise<RolloutDevice[]> {
      return state === undefined ? rows('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id > ? ORDER BY device_id LIMIT ?', [rolloutId, after, limit])
        : state === 'silent' ? rows(`SELECT * FROM rollout_devices ${indexed('rollout_devices_by_state')}WHERE rollout_id = ? AND state IS NULL AND device_id > ? ${BY_STATE_ORDER} LIMIT ?`, [rolloutId, after, limit])
        : rows(`SELECT * FROM rollout_devices ${indexed('rollout_devices_by_state')}WHERE rollout_id = ? AND state = ? AND device_id > ? ${BY_STATE_ORDER} LIMIT ?`, [rolloutId, state, after, limit]);
    },
    /**
     * A page as operators list it (GET /v1/rollouts/{id}/devices, the
     * status's silent sample): each device with its last-seen time and the
     * error of its latest report in this rollout, in ONE statement (issue
     * 20: two more per device before). The latest report walks that one
     * device's reports (primary key device_id, seq) and only for a device
     * that reported.
     */
    async listing(rolloutId: string, state: string | undefined, after: string, limit: number): Promise<ListedDevice[]> {
      const where = state === undefined ? '' : state === 'silent' ? 'AND rd.state IS NULL ' : 'AND rd.state = ? ';
      const from = state === undefined ? 'rollout_devices rd' : `rollout_devices rd ${indexed('rollout_devices_by_state')}`;
      // Per-row subqueries, not a join: a join lets PostgreSQL merge along the devices index from its start
      // (measured: 10,100 index rows read for a page in the middle of 20,000 devices).
      const found = await sql.all<Row & { last_seen: number | null; last_body: string | null }>(`SELECT rd.*,
          (SELECT last_seen FROM devices WHERE devices.id = rd.device_id) AS last_seen,
          CASE WHEN rd.state IS NULL THEN NULL ELSE (SELECT body FROM reports WHERE reports.device_id = rd.device_id AND reports.rollout_id = rd.rollout_id ORDER BY reports.seq DESC LIMIT 1) END AS last_body
        FROM ${from}
        WHERE rd.rollout_id = ? ${where}AND rd.device_id > ? ${state === undefined ? 'ORDER BY rd.device_id' : 'ORDER BY rd.rollout_id, rd.state, rd.device_id'} LIMIT ?`,
      state === undefined || state === 'silent' ? [rolloutId, after, limit] : [rolloutId, state, after, limit]);
      return found.map((r) => ({
        ...toDevice(r),
        lastSeen: r.last_seen === null ? null : Number(r.last_seen),
        // The body was validated against the report schema when it was stored (report-parse.ts).
        error: r.last_body === null ? null : ((JSON.parse(r.last_body) as { error?: { code: string; message: string } }).error ?? null),
      }));
    },
  };
}
