import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, poll, publish, report } from '../helpers/fleet.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const LENIENT = { maxFailureBasisPoints: 5000, minTerminalReports: 4, reportTimeoutSeconds: 3600 };
const patch = (f: AppFixture, id: string, body: unknown, token = f.tokens['release-manager']) =>
  request(f.app).patch(`/v1/rollouts/${id}`).set(bearer(token)).send(body as object);

async function running(f: AppFixture) {
  await publish(f);
  await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
  expect((await act(f, 'r1', 'start')).status).toBe(200);
}

describe('PATCH /v1/rollouts/{id} { failurePolicy } (protocol §7 fleet lifecycle)', () => {
  it('changes the policy of a running rollout on the record, re-signs nothing, and halts at once when the new policy is crossed', async () => {
    const f = await makeApp();
    await running(f);
    // 1 failure in 4 terminal reports: 25 %, under the 50 % threshold.
    for (const [i, state] of (['applied', 'applied', 'applied', 'failed'] as const).entries()) {
      const token = await enroll(f.app, f.tokens.enroller, `d${i}`);
      expect((await poll(f.app, `d${i}`, token)).status).toBe(200);
      expect((await report(f.app, `d${i}`, token, { seq: 1, releaseId: RELEASE, rolloutId: 'r1', state, at: '2026-11-24T12:00:00Z' })).status).toBe(200);
    }
    const before = (await request(f.app).get('/v1/rollouts/r1').set(bearer(f.tokens.viewer))).body as { statementVersion: number; statements: unknown[]; state: string };
    expect(before.state).toBe('running');
    const logSize = f.ctx.log.size();

    const loose = await patch(f, 'r1', { failurePolicy: { ...LENIENT, minTerminalReports: 10 }, reason: 'wait for more reports' });
    expect(loose.status, JSON.stringify(loose.body)).toBe(200);
    expect(loose.body).toMatchObject({ state: 'running', failurePolicy: { minTerminalReports: 10 }, statementVersion: before.statementVersion, statements: before.statements });
    expect(f.ctx.log.size()).toBe(logSize);

    const strict = await patch(f, 'r1', { failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 4, reportTimeoutSeconds: 3600 } });
    expect(strict.status).toBe(200);
    expect(strict.body).toMatchObject({ state: 'halted', failurePolicy: { maxFailureBasisPoints: 2000 } });

    const audit = (await request(f.app).get('/v1/audit').query({ subject: 'r1' }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; details: Record<string, unknown> }[] };
    const changes = audit.entries.filter((e) => e.action === 'rollout.failure-policy');
    expect(changes.map((e) => e.details)).toEqual([
      { before: LENIENT, after: { ...LENIENT, minTerminalReports: 10 }, reason: 'wait for more reports' },
      { before: { ...LENIENT, minTerminalReports: 10 }, after: { maxFailureBasisPoints: 2000, minTerminalReports: 4, reportTimeoutSeconds: 3600 } },
    ]);
    expect(audit.entries.at(-1)?.action).toBe('rollout.halt');
  });

  it('is 409 outside running and paused, 400 for a bad policy, 403 for QA and readers; nothing changes', async () => {
    const f = await makeApp();
    await publish(f);
    await createRollout(f, { id: 'd', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
    const draft = await patch(f, 'd', { failurePolicy: LENIENT });
    expect(draft.status).toBe(409);
    expect((draft.body as { error: { code: string } }).error.code).toBe('invalid_transition');
    expect((await act(f, 'd', 'start')).status).toBe(200);
    expect((await act(f, 'd', 'pause')).status).toBe(200);
    for (const body of [{}, { failurePolicy: { ...LENIENT, maxFailureBasisPoints: 10001 } }, { failurePolicy: { maxFailureBasisPoints: 1 } }, { failurePolicy: LENIENT, stages: [] }]) {
      expect((await patch(f, 'd', body)).status, JSON.stringify(body)).toBe(400);
    }
    for (const role of ['qa', 'viewer'] as const) expect((await patch(f, 'd', { failurePolicy: { ...LENIENT, minTerminalReports: 1 } }, f.tokens[role])).status).toBe(403);
    expect((await patch(f, 'nope', { failurePolicy: LENIENT })).status).toBe(404);
    expect(((await request(f.app).get('/v1/rollouts/d').set(bearer(f.tokens.viewer))).body as { failurePolicy: unknown }).failurePolicy).toEqual(LENIENT);
    expect((await patch(f, 'd', { failurePolicy: { ...LENIENT, reportTimeoutSeconds: 60 } })).body).toMatchObject({ state: 'paused', failurePolicy: { reportTimeoutSeconds: 60 } });
  });
});

describe('ota rollout policy ID', () => {
  it('keeps the values not given and says what it was', async () => {
    const s = await listen();
    await running(s);
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };
    const r = await ota(['rollout', 'policy', 'r1', '--max-failure-percent', '2.5', '--reason', 'tighter after the beta'], { env });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('rollout r1 failure policy: halt above 2.50% of at least 4 terminal reports; timed_out after 3600 s (was 50.00% / 4 / 3600 s)\n');
    expect(await ota(['rollout', 'policy', 'r1'], { env })).toMatchObject({ code: 1, err: expect.stringContaining('nothing to change') });
  });
});
