import type { Sql } from '../db/sql.js';
import type { Rollout } from './rollout.js';

interface RolloutRow {
  id: string;
  release_id: string;
  salt: string;
  stages: string;
  failure_policy: string;
  state: Rollout['state'];
  current_stage: number;
  stage_started_at: number | null;
  statement_version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  last_halt: string | null;
  overruled_halt: string | null;
  start_at?: number | string | null;
}

const toRollout = (r: RolloutRow): Rollout => ({
  id: r.id,
  releaseId: r.release_id,
  salt: r.salt,
  stages: JSON.parse(r.stages) as Rollout['stages'],
  failurePolicy: JSON.parse(r.failure_policy) as Rollout['failurePolicy'],
  state: r.state,
  currentStage: r.current_stage,
  stageStartedAt: r.stage_started_at,
  statementVersion: r.statement_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  lastHalt: r.last_halt === null ? null : (JSON.parse(r.last_halt) as Rollout['lastHalt']),
  overruledHalt: r.overruled_halt === null ? null : (JSON.parse(r.overruled_halt) as Rollout['overruledHalt']),
  startAt: r.start_at === null || r.start_at === undefined ? null : new Date(Number(r.start_at)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

const jsonOrNull = (v: unknown): string | null => (v === null ? null : JSON.stringify(v));

export interface StoredStatement {
  stage: number;
  version: number;
  expires: number;
  envelopeJson: string;
}

export type RolloutStore = ReturnType<typeof createRolloutStore>;

export function createRolloutStore(sql: Sql) {
  const rows = async (text: string, params: (string | number)[] = []): Promise<Rollout[]> => (await sql.all<RolloutRow>(text, params)).map(toRollout);
  return {
    async insert(r: Rollout): Promise<void> {
      await sql.run(`INSERT INTO rollouts (id, release_id, salt, stages, failure_policy, state, current_stage,
        stage_started_at, statement_version, created_at, created_by, updated_at, last_halt, overruled_halt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.id, r.releaseId, r.salt, JSON.stringify(r.stages), JSON.stringify(r.failurePolicy), r.state, r.currentStage,
        r.stageStartedAt, r.statementVersion, r.createdAt, r.createdBy, r.updatedAt, jsonOrNull(r.lastHalt), jsonOrNull(r.overruledHalt)]);
      if (r.startAt) await sql.run('UPDATE rollouts SET start_at = ? WHERE id = ?', [Date.parse(r.startAt), r.id]);
    },
    /** Drafts whose `startAt` has come (protocol §7), oldest first. */
    dueToStart: async (now: number): Promise<string[]> =>
      (await sql.all<{ id: string }>("SELECT id FROM rollouts WHERE state = 'draft' AND start_at IS NOT NULL AND start_at <= ? ORDER BY start_at, id", [now])).map((r) => r.id),
    async get(id: string): Promise<Rollout | undefined> {
      const row = await sql.one<RolloutRow>('SELECT * FROM rollouts WHERE id = ?', [id]);
      return row && toRollout(row);
    },
    /** What report ingestion needs, without parsing stages (once per report on the hot path). */
    summary: (id: string): Promise<Pick<Rollout, 'releaseId' | 'state' | 'currentStage'> | undefined> =>
      sql.one('SELECT release_id AS "releaseId", state, current_stage AS "currentStage" FROM rollouts WHERE id = ?', [id]),
    page: (afterId: string, limit: number): Promise<Rollout[]> => rows('SELECT * FROM rollouts WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]),
    /** Rollouts that serve offers (running, paused, completed). */
    live: (): Promise<Rollout[]> => rows("SELECT * FROM rollouts WHERE state IN ('running', 'paused', 'completed') ORDER BY id"),
    /** Rollouts that may have offered devices (every state but draft): timed_out is derived for all of them. */
    started: (): Promise<Rollout[]> => rows("SELECT * FROM rollouts WHERE state <> 'draft' ORDER BY id"),
    /** Rollouts worth a metric series: all but those cancelled before `since` (an RFC 3339 timestamp; see ops/fleet-metrics.ts). */
    watched: (since: string): Promise<Rollout[]> => rows("SELECT * FROM rollouts WHERE state <> 'cancelled' OR updated_at >= ? ORDER BY id", [since]),
    /** Rollouts not completed or cancelled whose stages name `cohort` (protocol §7: such a cohort cannot be deleted). */
    async namingCohort(cohort: string): Promise<string[]> {
      const open = await sql.all<{ id: string; stages: string }>("SELECT id, stages FROM rollouts WHERE state NOT IN ('completed', 'cancelled') ORDER BY id");
      return open.filter((r) => (JSON.parse(r.stages) as Rollout['stages']).some((s) => s.cohort === cohort)).map((r) => r.id);
    },
    countByState: (): Promise<{ state: Rollout['state']; n: number }[]> => sql.all('SELECT state, COUNT(*) AS n FROM rollouts GROUP BY state'),
    async update(r: Rollout): Promise<void> {
      await sql.run('UPDATE rollouts SET state = ?, current_stage = ?, stage_started_at = ?, statement_version = ?, updated_at = ?, last_halt = ?, overruled_halt = ? WHERE id = ?',
        [r.state, r.currentStage, r.stageStartedAt, r.statementVersion, r.updatedAt, jsonOrNull(r.lastHalt), jsonOrNull(r.overruledHalt), r.id]);
    },
    /** protocol §7: only the failure policy (no statement carries it, so nothing is re-signed). */
    async setFailurePolicy(id: string, policy: Rollout['failurePolicy'], updatedAt: string): Promise<void> {
      await sql.run('UPDATE rollouts SET failure_policy = ?, updated_at = ? WHERE id = ?', [JSON.stringify(policy), updatedAt, id]);
    },
    async saveStatement(rolloutId: string, s: StoredStatement): Promise<void> {
      await sql.run(`INSERT INTO rollout_statements (rollout_id, stage, version, expires, envelope) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (rollout_id, stage) DO UPDATE SET version = excluded.version, expires = excluded.expires, envelope = excluded.envelope`,
      [rolloutId, s.stage, s.version, s.expires, s.envelopeJson]);
    },
    statements: async (rolloutId: string): Promise<StoredStatement[]> =>
      (await sql.all<{ stage: number; version: number; expires: number; envelope: string }>(
        'SELECT stage, version, expires, envelope FROM rollout_statements WHERE rollout_id = ? ORDER BY stage', [rolloutId],
      )).map((s) => ({ stage: s.stage, version: s.version, expires: s.expires, envelopeJson: s.envelope })),
  };
}
