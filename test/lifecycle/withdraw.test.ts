import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/protocol/crypto/canonical.js';
import { verifyForRole } from '../../server/protocol/trust/root.js';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';
import { DEVICE, image, makeKeys, offerOf } from '../agent/agent-fixtures.js';
import { deviceOn, fakeServerFor } from '../agent/agent-harness.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const withdraw = (f: AppFixture, id: string, body: unknown, token = f.tokens['release-manager']) =>
  request(f.app).post(`/v1/releases/${id}/withdraw`).set(bearer(token)).send(body as object);

async function serving() {
  const f = await makeApp();
  await publish(f);
  await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
  expect((await act(f, 'r1', 'start')).status).toBe(200);
  return f;
}

describe('POST /v1/releases/{id}/withdraw (protocol §7 fleet lifecycle, §8 log entry)', () => {
  it('stops every offer, shows on its rollouts and the release, and logs a signed withdrawal statement', async () => {
    const f = await serving();
    const token = await enroll(f.app, f.tokens.enroller, 'd1');
    expect(((await poll(f.app, 'd1', token)).body as { updates: unknown[] }).updates).toHaveLength(1);
    const sizeBefore = f.ctx.log.size();

    const res = await withdraw(f, RELEASE, { reason: 'bricks devices with a full data partition' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as { withdrawal: { signed: Record<string, unknown>; signatures: unknown[] }; logIndex: number; alreadyWithdrawn: boolean; rollouts: string[] };
    const published = (await request(f.app).get(`/v1/releases/${RELEASE}`).set(bearer(f.tokens.viewer))).body as { manifestSha256: string; withdrawal: unknown };
    expect(body).toMatchObject({ releaseId: RELEASE, alreadyWithdrawn: false, rollouts: ['r1'], logIndex: sizeBefore });
    expect(body.withdrawal.signed).toEqual({ type: 'withdrawal', releaseId: RELEASE, manifestSha256: published.manifestSha256, reason: 'bricks devices with a full data partition', issuedAt: '2026-11-24T12:00:00Z' });
    // Signed by the online role of the current root.
    expect(verifyForRole(f.trust.root, 'online', body.withdrawal as never).met).toBe(true);
    expect(published.withdrawal).toEqual(body.withdrawal);

    // Its own log entry, exactly as answered.
    const entries = (await request(f.app).get('/v1/log/entries').query({ start: body.logIndex, end: body.logIndex + 1 })).body as { entries: unknown[] };
    expect(canonicalJson(entries.entries[0])).toBe(canonicalJson(body.withdrawal));

    // Polls stop carrying it; the rollout says why.
    expect(((await poll(f.app, 'd1', token)).body as { updates: unknown[] }).updates).toEqual([]);
    const other = await enroll(f.app, f.tokens.enroller, 'd2');
    expect(((await poll(f.app, 'd2', other)).body as { updates: unknown[] }).updates).toEqual([]);
    const rollout = (await request(f.app).get('/v1/rollouts/r1').set(bearer(f.tokens.viewer))).body as { releaseWithdrawn: unknown };
    expect(rollout.releaseWithdrawn).toEqual({ at: '2026-11-24T12:00:00Z', reason: 'bricks devices with a full data partition' });
    const status = (await request(f.app).get('/v1/rollouts/r1/status').set(bearer(f.tokens.viewer))).body as { releaseWithdrawn: unknown };
    expect(status.releaseWithdrawn).toEqual(rollout.releaseWithdrawn);

    // No longer re-signed: its statements run out (protocol §6).
    f.clock.now = new Date('2026-11-24T12:59:00Z');
    expect(await f.ctx.rolloutService.resignExpiring()).toBe(0);

    const audit = (await request(f.app).get('/v1/audit').query({ subject: RELEASE }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; details: Record<string, unknown> }[] };
    expect(audit.entries.filter((e) => e.action === 'release.withdraw')).toEqual([expect.objectContaining({ details: expect.objectContaining({ reason: 'bricks devices with a full data partition', logIndex: body.logIndex }) })]);
  });

  it('is idempotent: the first statement is answered again and nothing new is logged', async () => {
    const f = await serving();
    const first = (await withdraw(f, RELEASE, { reason: 'first reason' })).body as { withdrawal: unknown; logIndex: number };
    const size = f.ctx.log.size();
    const again = await withdraw(f, RELEASE, { reason: 'another reason' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ alreadyWithdrawn: true, logIndex: first.logIndex, withdrawal: first.withdrawal });
    expect(f.ctx.log.size()).toBe(size);
  });

  it('no rollout may offer it again: creating one is 422, starting a draft is 409', async () => {
    const f = await makeApp();
    await publish(f);
    await createRollout(f, { id: 'draft', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await withdraw(f, RELEASE, { reason: 'yanked' })).status).toBe(200);
    const created = await request(f.app).post('/v1/rollouts').set(bearer(f.tokens['release-manager'])).send({ releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect(created.status).toBe(422);
    expect(JSON.stringify(created.body)).toContain('withdrawn');
    const started = await act(f, 'draft', 'start');
    expect(started.status).toBe(409);
    expect((started.body as { error: { message: string } }).error.message).toMatch(/withdrawn/);
  });

  it('refuses bad input and wrong roles, changing nothing', async () => {
    const f = await serving();
    const size = f.ctx.log.size();
    for (const [body, code] of [[{}, 400], [{ reason: 'x' }, 400], [{ reason: '   ' }, 400], [{ reason: 'ok reason', extra: true }, 400]] as const) {
      expect((await withdraw(f, RELEASE, body)).status, JSON.stringify(body)).toBe(code);
    }
    expect((await withdraw(f, 'no-such-release', { reason: 'gone' })).status).toBe(404);
    for (const role of ['viewer', 'qa', 'enroller'] as const) expect((await withdraw(f, RELEASE, { reason: 'nope' }, f.tokens[role])).status).toBe(403);
    expect(f.ctx.log.size()).toBe(size);
    const token = await enroll(f.app, f.tokens.enroller, 'd1');
    expect(((await poll(f.app, 'd1', token)).body as { updates: unknown[] }).updates).toHaveLength(1);
  });
});

describe('the device agent and a withdrawn release', () => {
  const keys = makeKeys();
  const OS = image('os-1.4.3');
  const IMAGE = { id: 'redmi-1s-1.4.3', version: '1.4.3', artifact: OS.artifact, settings: [] };

  it('does not resume or install a release whose offer is gone, not even after a reboot mid-download', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE)]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    server.cutArtifactAfter = 3000;
    const d = deviceOn(server, keys);
    expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['interrupted']);
    expect(d.agent.snapshot().partial?.offset).toBeGreaterThan(0);

    // Withdrawn: the server's answers stop carrying the offer.
    server.offers.splice(0);
    delete server.cutArtifactAfter;
    expect((await d.agent.checkAndApply()).outcomes).toEqual([]);
    const rebooted = d.restart();
    expect((await rebooted.agent.checkAndApply()).outcomes).toEqual([]);
    expect([...d.installs.calls, ...rebooted.installs.calls]).toEqual([]);
    expect(rebooted.agent.installedVersion).toBe(DEVICE.installedVersion);
    expect(server.reports.map((r) => r.state)).not.toContain('installing');
  });
});
