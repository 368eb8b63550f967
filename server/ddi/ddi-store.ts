import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import { MAX_ACTION_ID } from './ddi-wire.js';

/** A DDI action (protocol §11): one per device, rollout and release, its id stable across polls. */
export interface DdiAction {
  id: number;
  rolloutId: string;
  releaseId: string;
  /** The last report state its feedback became (null before any). */
  state: string | null;
  closed: boolean;
}

/** What the gateway keeps of one controller: whether its configData arrived, and its actions (oldest first). */
export interface DdiController {
  configured: boolean;
  actions: DdiAction[];
}

interface ActionRow {
  id: number;
  rollout_id: string;
  release_id: string;
  state: string | null;
  closed: number;
}

const toAction = (r: ActionRow): DdiAction => ({ id: Number(r.id), rolloutId: r.rollout_id, releaseId: r.release_id, state: r.state, closed: Number(r.closed) === 1 });

export type DdiStore = ReturnType<typeof createDdiStore>;

/** The gateway's own tables (ddi_actions, ddi_controllers); SQL only here. */
export function createDdiStore(sql: Sql) {
  return {
    async controller(deviceId: string): Promise<DdiController> {
      const configured = (await sql.value<number>('SELECT config_data_at FROM ddi_controllers WHERE device_id = ?', [deviceId])) !== undefined;
      const rows = await sql.all<ActionRow>('SELECT id, rollout_id, release_id, state, closed FROM ddi_actions WHERE device_id = ? ORDER BY id', [deviceId]);
      return { configured, actions: rows.map(toAction) };
    },
    /** The action for this device, rollout and release: made now, or the one a concurrent poll made. */
    async open(deviceId: string, rolloutId: string, releaseId: string, at: number): Promise<DdiAction> {
      const existing = async () => sql.one<ActionRow>('SELECT id, rollout_id, release_id, state, closed FROM ddi_actions WHERE device_id = ? AND rollout_id = ? AND release_id = ?', [deviceId, rolloutId, releaseId]);
      const found = await existing();
      if (found) return toAction(found);
      // protocol §11: clients read the id as a 32-bit int. Checked on both engines (one index lookup, once
      // per device and release): SQLite's rowid would go on past it, PostgreSQL's INTEGER identity would fail.
      if (Number(await sql.value<number>('SELECT COALESCE(MAX(id), 0) FROM ddi_actions')) >= MAX_ACTION_ID) {
        throw new AppError('unavailable', 'the DDI action ids are exhausted');
      }
      await sql.run('INSERT INTO ddi_actions (device_id, rollout_id, release_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, rollout_id, release_id) DO NOTHING',
        [deviceId, rolloutId, releaseId, at]);
      const made = await existing();
      if (!made) throw new Error('the DDI action just inserted is missing');
      return toAction(made);
    },
    async setState(id: number, state: string, closed: boolean, at: number): Promise<void> {
      await sql.run('UPDATE ddi_actions SET state = ?, closed = ?, closed_at = ? WHERE id = ?', [state, closed ? 1 : 0, closed ? at : null, id]);
    },
    async configured(deviceId: string, at: number): Promise<void> {
      await sql.run('INSERT INTO ddi_controllers (device_id, config_data_at) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET config_data_at = excluded.config_data_at', [deviceId, at]);
    },
  };
}
