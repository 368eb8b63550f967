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

export type RolloutDeviceStore = ReturnType<typeof createRolloutDeviceStore>;

export function createRolloutDeviceStore(sql: Sql) {
  // Indexes named to the planner that needs it (SQLite; see Dialect.indexedBy).
  const indexed = (name: string): string => sql.dialect.indexedBy(name);
  const rows = async (text: string, params: (string | number)[]): Promise<RolloutDevice[]> => (await sql.all<Row>(text, params)).map(toDevice);

  return {
    async get(rolloutId: string, deviceId: string): Promise<RolloutDevice | undefined> {
      const row = await sql.one<Row>('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId]);
      return row && toDevice(row);
    },
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
        : state === 'silent' ? rows(`SELECT * FROM rollout_devices ${indexed('rollout_devices_by_state')}WHERE rollout_id = ? AND state IS NULL AND device_id > ? ORDER BY device_id LIMIT ?`, [rolloutId, after, limit])
        : rows(`SELECT * FROM rollout_devices ${indexed('rollout_devices_by_state')}WHERE rollout_id = ? AND state = ? AND device_id > ? ORDER BY device_id LIMIT ?`, [rolloutId, state, after, limit]);
    },
  };
}
