import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../server/audit/audit-chain.js';
import { bearer } from '../helpers/fixtures.js';
import { act, poll, report } from '../helpers/fleet.js';
import { latestStatesAgree, recountCounters, storedCounters } from '../reports/recount.js';
import { advanceClock, devicesIn, enrollAll, reportOf, scenario, statusOf, type Scenario } from './scenario.js';

async function send(s: Scenario, tokens: Map<string, string>, id: string, seq: number, state: string) {
  const res = await report(s.f.app, id, tokens.get(id) as string, reportOf(s, seq, state));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const auditOf = async (s: Scenario, action: string): Promise<AuditEntry[]> => (await s.f.ctx.audit.page(0, 10_000)).filter((e) => e.subject === s.rolloutId && e.action === action);

const countersAgree = async (s: Scenario) => {
  expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
  expect(await latestStatesAgree(s.f.ctx.sql, s.rolloutId)).toEqual([]);
};

describe('timed_out (protocol §5): a non-terminal report and then silence past reportTimeoutSeconds', () => {
  it('becomes timed_out only after the timeout, counts as a terminal failure, and late news replaces it', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 5000, minTerminalReports: 100, reportTimeoutSeconds: 600 } });
    const tokens = await enrollAll(s.f, ['slow', 'done', 'later', 'quiet']);
    for (const id of tokens.keys()) await poll(s.f.app, id, tokens.get(id) as string);
    await send(s, tokens, 'slow', 1, 'downloading');
    await send(s, tokens, 'done', 1, 'applied');
    advanceClock(s.f, 300);
    await send(s, tokens, 'later', 1, 'installing');

    // Exactly reportTimeoutSeconds after `slow`'s report: not yet past it.
    advanceClock(s.f, 300);
    await s.f.ctx.health.tick();
    expect((await statusOf(s)).counts).toMatchObject({ downloading: 1, installing: 1, applied: 1, timed_out: 0 });

    advanceClock(s.f, 1);
    await s.f.ctx.health.tick();
    let st = await statusOf(s);
    expect(st.counts).toMatchObject({ downloading: 0, installing: 1, applied: 1, timed_out: 1 });
    expect(st.failure).toMatchObject({ terminal: 2, failures: 1, rateBasisPoints: 5000 });
    expect(st.state).toBe('running');
    expect(await devicesIn(s, 'timed_out')).toEqual(['slow']);
    // Offered but never reporting is "silent", not timed out.
    expect(await devicesIn(s, 'silent')).toEqual(['quiet']);
    await countersAgree(s);

    advanceClock(s.f, 300);
    await s.f.ctx.health.tick();
    expect(await devicesIn(s, 'timed_out')).toEqual(['later', 'slow']);

    // Late news from a timed-out device replaces the derived state.
    await send(s, tokens, 'slow', 2, 'applied');
    st = await statusOf(s);
    expect(st.counts).toMatchObject({ applied: 2, timed_out: 1, downloading: 0, installing: 0 });
    expect(st.failure).toMatchObject({ terminal: 3, failures: 1 });
    await countersAgree(s);
  });

  it('timeouts alone can halt a rollout on the next health pass, with the figures in the audit log', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 3, reportTimeoutSeconds: 60 } });
    const tokens = await enrollAll(s.f, ['a', 'b', 'c']);
    for (const id of tokens.keys()) {
      await poll(s.f.app, id, tokens.get(id) as string);
      await send(s, tokens, id, 1, 'downloading');
    }
    advanceClock(s.f, 61);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('halted');
    const [halt] = await auditOf(s, 'rollout.halt');
    expect(halt?.actor).toBe('system:auto-halt');
    expect(halt?.details).toMatchObject({ figures: { terminal: 3, failures: 3, rateBasisPoints: 10000, byState: { timed_out: 3 } } });
    expect((await poll(s.f.app, 'a', tokens.get('a') as string)).body.updates).toEqual([]);
    await countersAgree(s);
  });

  it('a completed rollout keeps deriving timed_out for devices that go silent mid-install', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 5000, minTerminalReports: 100, reportTimeoutSeconds: 60 } });
    const tokens = await enrollAll(s.f, ['mid']);
    await poll(s.f.app, 'mid', tokens.get('mid') as string);
    await send(s, tokens, 'mid', 1, 'downloaded');
    expect((await act(s.f, s.rolloutId, 'advance')).body).toMatchObject({ state: 'completed' });
    advanceClock(s.f, 61);
    await s.f.ctx.health.tick();
    expect((await statusOf(s)).counts).toMatchObject({ downloaded: 0, timed_out: 1 });
    await countersAgree(s);
  });

  it('so does a halted one (devices stop installing, they must not show as still downloading forever)', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 5000, minTerminalReports: 100, reportTimeoutSeconds: 60 } });
    const tokens = await enrollAll(s.f, ['mid']);
    await poll(s.f.app, 'mid', tokens.get('mid') as string);
    await send(s, tokens, 'mid', 1, 'downloading');
    expect((await act(s.f, s.rolloutId, 'halt')).status).toBe(200);
    advanceClock(s.f, 61);
    await s.f.ctx.health.tick();
    expect((await statusOf(s)).counts).toMatchObject({ downloading: 0, timed_out: 1 });
    await countersAgree(s);
  });
});

describe('auto-advance (protocol §5): after minDwellSeconds without a halt', () => {
  const STAGES = [
    { cohort: 'all', basisPoints: 1000, minDwellSeconds: 3600, autoAdvance: true },
    { cohort: 'all', basisPoints: 5000, minDwellSeconds: 600, autoAdvance: false },
    { cohort: 'all', basisPoints: 10000, minDwellSeconds: 60, autoAdvance: true },
  ];

  it('advances once the dwell has passed, not before; a stage without autoAdvance waits for an operator; the last stage completes', async () => {
    const s = await scenario({ stages: STAGES });
    advanceClock(s.f, 3599);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'running', currentStage: 0 });

    advanceClock(s.f, 1);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'running', currentStage: 1, stageStartedAt: s.f.clock.now.getTime() });
    const [auto] = await auditOf(s, 'rollout.advance');
    expect(auto?.actor).toBe('system:auto-advance');
    expect(auto?.details).toMatchObject({ from: { state: 'running', stage: 0 }, to: { state: 'running', stage: 1 }, dweltSeconds: 3600, minDwellSeconds: 3600 });

    // Stage 1 has no autoAdvance: however long it dwells, it stays.
    advanceClock(s.f, 30 * 86400);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'running', currentStage: 1 });

    expect((await act(s.f, s.rolloutId, 'advance')).status).toBe(200);
    advanceClock(s.f, 59);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'running', currentStage: 2 });
    advanceClock(s.f, 1);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'completed' });
    expect((await auditOf(s, 'rollout.advance')).map((e) => e.actor)).toEqual(['system:auto-advance', expect.stringMatching(/^operator:/), 'system:auto-advance']);

    // Completed is final for the health rules: more passes change nothing.
    advanceClock(s.f, 10);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('completed');
  });

  it('a completed rollout keeps serving its release, to old and new devices alike, and keeps re-signing', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 100 }, { cohort: 'all', basisPoints: 10000, minDwellSeconds: 0, autoAdvance: true }] });
    expect((await act(s.f, s.rolloutId, 'advance')).status).toBe(200);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('completed');
    const tokens = await enrollAll(s.f, ['after-1', 'after-2', 'other-model']);
    const first = await poll(s.f.app, 'after-1', tokens.get('after-1') as string);
    expect(first.body.updates).toHaveLength(1);
    expect((await poll(s.f.app, 'after-2', tokens.get('after-2') as string)).body.updates).toHaveLength(1);
    const version = (first.body as { updates: { rollout: { signed: { version: number; expires: string } } }[] }).updates[0]?.rollout.signed.version as number;

    advanceClock(s.f, 45 * 60);
    await s.f.ctx.health.tick();
    const later = await poll(s.f.app, 'after-1', tokens.get('after-1') as string);
    const statement = (later.body as { updates: { rollout: { signed: { version: number; expires: string } } }[] }).updates[0]?.rollout.signed;
    expect(statement?.version).toBeGreaterThan(version);
    expect(Date.parse(statement?.expires as string)).toBeGreaterThan(s.f.clock.now.getTime());
  });

  it('a paused rollout does not auto-advance', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 1000, minDwellSeconds: 60, autoAdvance: true }, { cohort: 'all', basisPoints: 10000 }] });
    expect((await act(s.f, s.rolloutId, 'pause')).status).toBe(200);
    advanceClock(s.f, 3600);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'paused', currentStage: 0 });
  });

  it('a failing stage halts instead of advancing, even when its dwell has passed in the same pass', async () => {
    const s = await scenario({
      stages: [{ cohort: 'all', basisPoints: 10000, minDwellSeconds: 60, autoAdvance: true }, { cohort: 'all', basisPoints: 10000 }],
      failurePolicy: { maxFailureBasisPoints: 1000, minTerminalReports: 2, reportTimeoutSeconds: 30 },
    });
    const tokens = await enrollAll(s.f, ['x', 'y']);
    for (const id of tokens.keys()) {
      await poll(s.f.app, id, tokens.get(id) as string);
      await send(s, tokens, id, 1, 'installing');
    }
    advanceClock(s.f, 61);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))).toMatchObject({ state: 'halted', currentStage: 0 });
    expect(await auditOf(s, 'rollout.advance')).toEqual([]);
  });
});

describe('auto-halt after ingest', () => {
  it('halts as soon as the committed reports cross the threshold, not before, and stops offering', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 2500, minTerminalReports: 4, reportTimeoutSeconds: 3600 } });
    const ids = ['h1', 'h2', 'h3', 'h4', 'h5'];
    const tokens = await enrollAll(s.f, ids);
    for (const id of ids) await poll(s.f.app, id, tokens.get(id) as string);
    await send(s, tokens, 'h1', 1, 'applied');
    await send(s, tokens, 'h2', 1, 'applied');
    await send(s, tokens, 'h3', 1, 'failed');
    // 1 failure in 3 terminal: under minTerminalReports.
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('running');
    await send(s, tokens, 'h4', 1, 'applied');
    // 1/4 = 2500bp: at the threshold, not above.
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('running');
    await send(s, tokens, 'h5', 1, 'rolled_back');
    // 2/5 = 4000bp.
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('halted');
    const [halt] = await auditOf(s, 'rollout.halt');
    expect(halt?.details).toMatchObject({ from: { state: 'running' }, to: { state: 'halted' }, figures: { terminal: 5, failures: 2, rateBasisPoints: 4000 }, failurePolicy: { maxFailureBasisPoints: 2500 } });
    const audit = await request(s.f.app).get('/v1/audit').set(bearer(s.f.tokens.viewer));
    expect((audit.body as { entries: AuditEntry[] }).entries.some((e) => e.action === 'rollout.halt' && e.actor === 'system:auto-halt')).toBe(true);
    for (const id of ids) expect((await poll(s.f.app, id, tokens.get(id) as string)).body.updates).toEqual([]);
    await countersAgree(s);
  });
});
