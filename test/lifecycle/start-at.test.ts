import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';

describe('scheduled start: POST /v1/rollouts with startAt (protocol §7)', () => {
  it("stays a draft until startAt, then the leader's health pass starts it, on the record", async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await publish(f);
    const created = await createRollout(f, { id: 'night', releaseId: RELEASE, startAt: '2026-11-25T01:00:00Z', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect(created).toMatchObject({ state: 'draft', startAt: '2026-11-25T01:00:00Z' });
    const token = await enroll(f.app, f.tokens.enroller, 'd1');

    await f.ctx.health.tick();
    expect(((await request(f.app).get('/v1/rollouts/night').set(bearer(f.tokens.viewer))).body as { state: string }).state).toBe('draft');
    expect(((await poll(f.app, 'd1', token)).body as { updates: unknown[] }).updates).toEqual([]);

    f.clock.now = new Date('2026-11-25T01:00:00Z');
    await f.ctx.health.tick();
    const started = (await request(f.app).get('/v1/rollouts/night').set(bearer(f.tokens.viewer))).body as { state: string; startAt: string };
    expect(started).toMatchObject({ state: 'running', startAt: '2026-11-25T01:00:00Z' });
    expect(((await poll(f.app, 'd1', token)).body as { updates: unknown[] }).updates).toHaveLength(1);
    const audit = (await request(f.app).get('/v1/audit').query({ subject: 'night' }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; actor: string; details: Record<string, unknown> }[] };
    expect(audit.entries.map((e) => [e.action, e.actor])).toEqual([['rollout.create', 'operator:test-release-manager(release-manager)'], ['rollout.start', 'system:scheduled-start']]);
    expect(audit.entries[0]?.details).toMatchObject({ startAt: '2026-11-25T01:00:00Z' });

    // Started once: the next pass does nothing more.
    await f.ctx.health.tick();
    expect(((await request(f.app).get('/v1/audit').query({ subject: 'night' }).set(bearer(f.tokens.viewer))).body as { entries: unknown[] }).entries).toHaveLength(2);
  });

  it('a draft started by hand before its time is simply running; a cancelled one never starts', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await publish(f);
    await createRollout(f, { id: 'a', releaseId: RELEASE, startAt: '2026-11-24T13:00:00Z', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    await createRollout(f, { id: 'b', releaseId: RELEASE, startAt: '2026-11-24T13:00:00Z', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, 'b', 'cancel')).status).toBe(200);
    expect((await act(f, 'a', 'start')).status).toBe(200);
    f.clock.now = new Date('2026-11-24T14:00:00Z');
    await f.ctx.health.tick();
    const states = await Promise.all(['a', 'b'].map(async (id) => ((await request(f.app).get(`/v1/rollouts/${id}`).set(bearer(f.tokens.viewer))).body as { state: string }).state));
    expect(states).toEqual(['running', 'cancelled']);
  });

  it('refuses a startAt that is not an RFC 3339 instant', async () => {
    const f = await makeApp();
    await publish(f);
    for (const startAt of ['tomorrow', '2026-02-31T00:00:00Z', 1764000000]) {
      const res = await request(f.app).post('/v1/rollouts').set(bearer(f.tokens['release-manager'])).send({ releaseId: RELEASE, startAt, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
      expect(res.status, String(startAt)).toBe(400);
    }
  });
});
