import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ROLLOUT_ACTIONS, ROLLOUT_STATES, transition, type Position, type RolloutAction } from '../../server/rollouts/rollout-state.js';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { act, createRollout, FAILURE_POLICY, publish } from '../helpers/fleet.js';

const STAGES = 3;
const at = (state: Position['state'], currentStage = 0): Position => ({ state, currentStage });

/**
 * The whole (state × action) table, written out by hand from protocol §5 and
 * issue 3 (draft → running ⇄ paused, halted, cancelled, completed): a
 * position and what each action leads to, or null for a 409 refusal.
 */
const TABLE: [Position, Record<RolloutAction, Position | null>][] = [
  [at('draft'), { start: at('running', 0), pause: null, resume: null, advance: null, halt: null, cancel: at('cancelled') }],
  [at('running', 0), { start: null, pause: at('paused', 0), resume: null, advance: at('running', 1), halt: at('halted', 0), cancel: at('cancelled', 0) }],
  [at('running', 1), { start: null, pause: at('paused', 1), resume: null, advance: at('running', 2), halt: at('halted', 1), cancel: at('cancelled', 1) }],
  [at('running', 2), { start: null, pause: at('paused', 2), resume: null, advance: at('completed', 2), halt: at('halted', 2), cancel: at('cancelled', 2) }],
  [at('paused', 1), { start: null, pause: null, resume: at('running', 1), advance: null, halt: at('halted', 1), cancel: at('cancelled', 1) }],
  [at('halted', 1), { start: null, pause: null, resume: null, advance: null, halt: null, cancel: at('cancelled', 1) }],
  [at('completed', 2), { start: null, pause: null, resume: null, advance: null, halt: null, cancel: at('cancelled', 2) }],
  [at('cancelled', 1), { start: null, pause: null, resume: null, advance: null, halt: null, cancel: null }],
];

const cases = TABLE.flatMap(([from, row]) => ROLLOUT_ACTIONS.map((action) => ({ from, action, expected: row[action], label: `${from.state}@${from.currentStage}` })));

describe('rollout-state transition(): the full (state × action) table', () => {
  it('the table covers every state and every action', () => {
    expect(new Set(TABLE.map(([p]) => p.state))).toEqual(new Set(ROLLOUT_STATES));
    for (const [, row] of TABLE) expect(Object.keys(row).sort()).toEqual([...ROLLOUT_ACTIONS].sort());
  });

  it.each(cases)('$label + $action → $expected', ({ from, action, expected }) => {
    const t = transition(from, action, STAGES);
    if (expected === null) {
      expect(t.ok).toBe(false);
      if (!t.ok) {
        expect(t.reason).toContain(action);
        expect(t.reason).toContain(from.state);
      }
    } else {
      expect(t).toEqual({ ok: true, to: expected });
    }
  });

  it('a one-stage rollout completes on its first advance', () => {
    expect(transition(at('running', 0), 'advance', 1)).toEqual({ ok: true, to: at('completed', 0) });
  });

  it('resume of a halted rollout needs the acknowledgement (protocol §5); a paused one does not care', () => {
    expect(transition(at('halted', 1), 'resume', STAGES, { acknowledgeHalt: true })).toEqual({ ok: true, to: at('running', 1) });
    const refused = transition(at('halted', 1), 'resume', STAGES, { acknowledgeHalt: false });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toContain('{"acknowledgeHalt": true, "reason": ');
    expect(transition(at('paused', 1), 'resume', STAGES, { acknowledgeHalt: true })).toEqual({ ok: true, to: at('running', 1) });
    for (const state of ['draft', 'running', 'completed', 'cancelled'] as const) {
      expect(transition(at(state, 0), 'resume', STAGES, { acknowledgeHalt: true }).ok).toBe(false);
    }
  });

  it('is pure: the input position is never changed', () => {
    const from = at('running', 1);
    transition(from, 'advance', STAGES);
    expect(from).toEqual(at('running', 1));
  });
});

describe('rollout actions over HTTP', () => {
  async function setup() {
    const f = await makeApp();
    await publish(f);
    const r = await createRollout(f, {
      releaseId: 'redmi-1s-cloud-optin-2014-08',
      stages: [{ cohort: 'all', basisPoints: 1000 }, { cohort: 'all', basisPoints: 10000 }],
      failurePolicy: FAILURE_POLICY,
    });
    return { f, id: r.id };
  }

  it('walks draft → running → paused → running → advance → completed → cancelled, each in the audit log', async () => {
    const { f, id } = await setup();
    const steps: [RolloutAction, string, number][] = [
      ['start', 'running', 0],
      ['pause', 'paused', 0],
      ['resume', 'running', 0],
      ['advance', 'running', 1],
      ['advance', 'completed', 1],
      ['cancel', 'cancelled', 1],
    ];
    let version = 0;
    for (const [action, state, stage] of steps) {
      const res = await act(f, id, action);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ id, state, currentStage: stage });
      const body = res.body as { statementVersion: number };
      // protocol §6: every change to the served statements raises the version.
      if (state !== 'cancelled') expect(body.statementVersion).toBeGreaterThan(version);
      version = body.statementVersion;
    }
    const audit = await request(f.app).get('/v1/audit').set(bearer(f.tokens.viewer));
    const actions = (audit.body as { entries: { action: string; subject: string; details: { from: unknown; to: unknown } }[] }).entries
      .filter((e) => e.subject === id && e.action !== 'rollout.create');
    expect(actions.map((e) => e.action)).toEqual(steps.map(([a]) => `rollout.${a}`));
    expect(actions[0]?.details).toMatchObject({ from: { state: 'draft', stage: 0 }, to: { state: 'running', stage: 0 } });
  });

  it.each([
    ['resume a running rollout', ['start'], 'resume'],
    ['start twice', ['start'], 'start'],
    ['advance a draft', [], 'advance'],
    ['pause a draft', [], 'pause'],
    ['advance a paused rollout', ['start', 'pause'], 'advance'],
    ['resume a halted rollout', ['start', 'halt'], 'resume'],
    ['halt a completed rollout', ['start', 'advance', 'advance'], 'halt'],
    ['cancel twice', ['cancel'], 'cancel'],
  ] as const)('%s → 409 invalid_transition with the spec error body, nothing changed', async (_what, before, action) => {
    const { f, id } = await setup();
    for (const a of before) expect((await act(f, id, a)).status).toBe(200);
    const stored = (await f.ctx.rollouts.get(id));
    const auditBefore = (await f.ctx.audit.page(0, 1000)).length;
    const res = await act(f, id, action);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.body as object)).toEqual(['error']);
    const err = (res.body as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('invalid_transition');
    expect(typeof err.message).toBe('string');
    expect(err.message.length).toBeGreaterThan(0);
    expect((await f.ctx.rollouts.get(id))).toEqual(stored);
    expect((await f.ctx.audit.page(0, 1000))).toHaveLength(auditBefore);
  });

  it('an unknown rollout is 404, a malformed id 400', async () => {
    const { f } = await setup();
    const missing = await act(f, 'no-such-rollout', 'start');
    expect(missing.status).toBe(404);
    expect((missing.body as { error: { code: string } }).error.code).toBe('not_found');
    const bad = await act(f, 'Bad_ID!', 'start');
    expect(bad.status).toBe(400);
  });

  it('QA may pause and halt but not start, resume, advance or cancel', async () => {
    const { f, id } = await setup();
    for (const a of ['start', 'advance', 'cancel'] as const) expect((await act(f, id, a, f.tokens.qa)).status).toBe(403);
    expect((await act(f, id, 'start')).status).toBe(200);
    expect((await act(f, id, 'pause', f.tokens.qa)).status).toBe(200);
    expect((await act(f, id, 'resume', f.tokens.qa)).status).toBe(403);
    expect((await act(f, id, 'halt', f.tokens.qa)).status).toBe(200);
    expect((await f.ctx.rollouts.get(id))?.state).toBe('halted');
  });
});
