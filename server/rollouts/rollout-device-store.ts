import type { Db } from '../db/open.js';

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

export function createRolloutDeviceStore(db: Db) {
  const getStmt = db.prepare<[string, string], Row>('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id = ?');
  const existsStmt = db.prepare<[string, string], number>('SELECT 1 FROM rollout_devices WHERE rollout_id = ? AND device_id = ?').pluck();
  const offerStmt = db.prepare('INSERT OR IGNORE INTO rollout_devices (rollout_id, device_id, stage, offered_at) VALUES (?, ?, ?, ?)');
  const setStateStmt = db.prepare('UPDATE rollout_devices SET state = ?, state_at = ?, settings = ? WHERE rollout_id = ? AND device_id = ?');
  const staleStmt = db.prepare<[string, number, number], Row>(
    `SELECT * FROM rollout_devices INDEXED BY rollout_devices_in_progress
     WHERE rollout_id = ? AND state IN ('received', 'downloading', 'downloaded', 'installing') AND state_at < ? LIMIT ?`,
  );
  const byStateStmt = db.prepare<[string, string, string, number], Row>(
    'SELECT * FROM rollout_devices INDEXED BY rollout_devices_by_state WHERE rollout_id = ? AND state = ? AND device_id > ? ORDER BY device_id LIMIT ?',
  );
  const silentStmt = db.prepare<[string, string, number], Row>(
    'SELECT * FROM rollout_devices INDEXED BY rollout_devices_by_state WHERE rollout_id = ? AND state IS NULL AND device_id > ? ORDER BY device_id LIMIT ?',
  );
  // Any rollout: the IN list lets SQLite use the primary key (rollout_id, device_id) once per rollout.
  const inAnyStmt = db.prepare<[string, string | null], number>(
    'SELECT 1 FROM rollout_devices WHERE rollout_id IN (SELECT id FROM rollouts) AND device_id = ? AND state IS ? LIMIT 1',
  ).pluck();
  const allStmt = db.prepare<[string, string, number], Row>(
    'SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id > ? ORDER BY device_id LIMIT ?',
  );

  return {
    get(rolloutId: string, deviceId: string): RolloutDevice | undefined {
      const row = getStmt.get(rolloutId, deviceId);
      return row && toDevice(row);
    },
    wasOffered: (rolloutId: string, deviceId: string): boolean => existsStmt.get(rolloutId, deviceId) !== undefined,
    /** Records a first offer; true when it is new. */
    offer: (rolloutId: string, deviceId: string, stage: number, at: number): boolean =>
      offerStmt.run(rolloutId, deviceId, stage, at).changes === 1,
    setState(d: Pick<RolloutDevice, 'rolloutId' | 'deviceId' | 'state' | 'stateAt' | 'settings'>): void {
      setStateStmt.run(d.state, d.stateAt, d.settings, d.rolloutId, d.deviceId);
    },
    /** Devices stuck in a non-terminal state since before `before` (protocol §5 timed_out). */
    stale: (rolloutId: string, before: number, limit: number): RolloutDevice[] => staleStmt.all(rolloutId, before, limit).map(toDevice),
    /** Whether the device's latest state is `state` (null: offered, never reported) in some rollout. */
    inStateAnywhere: (deviceId: string, state: string | null): boolean => inAnyStmt.get(deviceId, state) !== undefined,
    /** Paged by device id; state 'silent' = offered, never reported. */
    page(rolloutId: string, state: string | undefined, after: string, limit: number): RolloutDevice[] {
      const rows =
        state === undefined ? allStmt.all(rolloutId, after, limit)
        : state === 'silent' ? silentStmt.all(rolloutId, after, limit)
        : byStateStmt.all(rolloutId, state, after, limit);
      return rows.map(toDevice);
    },
  };
}
