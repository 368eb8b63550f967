import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, releaseBody, signWith } from '../helpers/fixtures.js';
import { act, createRollout, FAILURE_POLICY, poll, publish, report } from '../helpers/fleet.js';
import { advanceClock, enrollAll, idsWhere, RELEASE_ID, reportOf, scenario, statusOf } from '../rollouts/scenario.js';

/** Behaviour a client written only from protocol.md relies on, found in a review against the spec's letter. */
describe('the spec, to the letter', () => {
  it('§7 query templates: empty limit, cursor and state mean "not given"', async () => {
    const s = await scenario();
    const list = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/devices?state=&limit=&cursor=`).set(bearer(s.f.tokens.qa));
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const audit = await request(s.f.app).get('/v1/audit?cursor=').set(bearer(s.f.tokens.qa));
    expect(audit.status).toBe(200);
    expect(audit.body.entries.length).toBeGreaterThan(0);
  });

  it('§3: a setting value of the wrong type is a P1 violation (422) naming the setting and the rule', async () => {
    const f = await makeApp();
    for (const value of [{}, null, 'abc', [true]]) {
      const body = releaseBody({ id: `wrong-type-${Math.random().toString(16).slice(2, 8)}`, settings: [{ key: 'battery.saver.threshold', value: value as never, mode: 'default' }] });
      const res = await request(f.app).post('/v1/releases').set(bearer(f.tokens['release-manager'])).send(signWith(body, f.trust.releaseKeys));
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.code).toBe('policy_violation');
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path: 'battery.saver.threshold', rule: 'P1' }));
    }
  });

  it('§1: a malformed signature entry is ignored, not a 400, and the valid one still counts', async () => {
    const f = await makeApp();
    const env = signWith(releaseBody(), f.trust.releaseKeys);
    env.signatures.push({ keyid: 'FF'.repeat(32), sig: 'not hex' });
    const res = await request(f.app).post('/v1/releases').set(bearer(f.tokens['release-manager'])).send(env);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('§5: repeated progress reports do not restart the timed_out clock', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { ...FAILURE_POLICY, reportTimeoutSeconds: 600 } });
    const tokens = await enrollAll(s.f, ['chatty']);
    const token = tokens.get('chatty') as string;
    expect((await report(s.f.app, 'chatty', token, reportOf(s, 1, 'downloading'))).status).toBe(200);
    advanceClock(s.f, 400);
    expect((await report(s.f.app, 'chatty', token, reportOf(s, 2, 'downloading'))).status).toBe(200);
    advanceClock(s.f, 400);
    expect((await report(s.f.app, 'chatty', token, reportOf(s, 3, 'downloaded'))).status).toBe(200);
    await s.f.ctx.health.tick();
    expect((await statusOf(s)).counts.timed_out).toBe(1);
  });

  it('§5: a device is offered the release again after a failure, so its new attempt is accepted and counted', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['retry']);
    const token = tokens.get('retry') as string;
    expect((await report(s.f.app, 'retry', token, reportOf(s, 1, 'failed'))).status).toBe(200);
    expect((await poll(s.f.app, 'retry', token)).body.updates).toHaveLength(1);
    expect((await report(s.f.app, 'retry', token, [reportOf(s, 2, 'received'), reportOf(s, 3, 'applied')])).status).toBe(200);
    const status = await statusOf(s);
    expect(status.counts.failed).toBe(0);
    expect(status.counts.applied).toBe(1);
  });

  it('§7: seq may start at 0', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['zero']);
    const res = await report(s.f.app, 'zero', tokens.get('zero') as string, reportOf(s, 0, 'received'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('§1: a report `at` that is not a real instant is refused (400) and stores nothing', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['clock']);
    const res = await report(s.f.app, 'clock', tokens.get('clock') as string, { ...reportOf(s, 1, 'received'), at: '2026-13-45T99:99:99Z' });
    expect(res.status).toBe(400);
    expect((await s.f.ctx.reports.count())).toBe(0);
  });

  it('§4: a release past its expires is no longer offered', async () => {
    const f = await makeApp();
    await publish(f, { expires: '2026-11-24T13:00:00Z' });
    const r = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    await act(f, r.id, 'start');
    const [token] = [...(await enrollAll(f as never, ['late'])).values()];
    expect((await poll(f.app, 'late', token as string)).body.updates).toHaveLength(1);
    f.clock.now = new Date('2026-11-24T13:00:01Z');
    expect((await poll(f.app, 'late', token as string)).body.updates).toHaveLength(0);
  });

  it('one serving rollout per release: starting a second one is 409', async () => {
    const s = await scenario();
    const second = await createRollout(s.f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    const res = await act(s.f, second.id, 'start');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it('eligible counts follow a start without waiting for the periodic census', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], start: false });
    await enrollAll(s.f, ['e-1', 'e-2', 'e-3']);
    await act(s.f, s.rolloutId, 'start');
    await s.f.ctx.census.run();
    expect((await statusOf(s)).eligible).toBe(3);
  });

  it('§7: GET / sends a browser to /ui/; unknown paths are 404 with or without a token (issue 18)', async () => {
    const f = await makeApp();
    const home = await request(f.app).get('/');
    expect([home.status, home.headers.location]).toEqual([302, '/ui/']);
    const credentials = [undefined, f.tokens.viewer, f.tokens.admin, 'ota_not-a-token-at-all'];
    for (const path of ['/nope', '/v1', '/v1/nope', '/v2/releases', '/favicon.ico', '/v1/rollouts/x/y/z', '/v1/releases/r/nothing']) {
      for (const token of credentials) {
        const req = request(f.app).get(path);
        const res = await (token ? req.set(bearer(token)) : req);
        expect({ path, token: token !== undefined, status: res.status, code: (res.body as { error?: { code: string } }).error?.code })
          .toEqual({ path, token: token !== undefined, status: 404, code: 'not_found' });
      }
    }
    expect((await request(f.app).post('/').send({})).status).toBe(404);
    // A known route still asks for its token first; with one, a missing resource is 404.
    expect((await request(f.app).get('/v1/rollouts')).status).toBe(401);
    // A path is the one the table names: another letter case or a trailing slash is no route, with or
    // without a token, whether Express or the device edge serves the route (the edge matches exactly).
    for (const path of ['/V1/Rollouts', '/v1/rollouts/', '/api/devices/v1/deployments/device/deployments/next/', '/API/devices/v2/deployments/device/deployments/next',
      '/v1/devices/d1/update/']) {
      for (const token of [undefined, f.tokens.admin]) {
        const req = request(f.app).get(path);
        expect({ path, status: (await (token ? req.set(bearer(token)) : req)).status }).toEqual({ path, status: 404 });
      }
    }
    expect((await request(f.app).get('/v1/rollouts/nope').set(bearer(f.tokens.viewer))).status).toBe(404);
  });

  it('RFC 9110: the bearer scheme is case-insensitive', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/releases').set('Authorization', `bearer ${f.tokens.viewer}`);
    expect(res.status).toBe(200);
  });

  it('PUT members takes a bare array of ids as well as {members}', async () => {
    const f = await makeApp();
    await request(f.app).post('/v1/cohorts').set(bearer(f.tokens['release-manager'])).send({ name: 'bench' });
    const res = await request(f.app).put('/v1/cohorts/bench/members').set(bearer(f.tokens['release-manager'])).send(['d-1', 'd-2']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.memberCount).toBe(2);
  });
});

describe('security', () => {
  it('an address over the refused-credential limit gets 429 for bad tokens, but valid devices and public routes still work', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], config: { authFailuresPerMinute: 3 } });
    const [id] = idsWhere(s.salt, 'nat', 1, () => true);
    const tokens = await enrollAll(s.f, [id as string]);
    for (let i = 0; i < 3; i++) expect((await request(s.f.app).get('/v1/releases').set(bearer('ota_wrongwrongwrongwrong'))).status).toBe(401);
    const blocked = await request(s.f.app).get('/v1/releases').set(bearer('ota_wrongwrongwrongwrong'));
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    expect((await poll(s.f.app, id as string, tokens.get(id as string) as string)).status).toBe(200);
    expect((await request(s.f.app).get('/v1/trust/root')).status).toBe(200);
  });

  it('a device re-enrolling with its own token keeps the model and attributes its enroller gave it', async () => {
    const f = await makeApp();
    const first = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send({ deviceId: 'self', model: 'redmi-1s', version: '1.4.1', attributes: { ring: 'public' } });
    const res = await request(f.app).post('/v1/devices').set(bearer(first.body.deviceToken)).send({ deviceId: 'self', model: 'qa-model', version: '1.4.2', attributes: { ring: 'qa' } });
    expect(res.status).toBe(201);
    const stored = (await f.ctx.devices.get('self'));
    expect(stored).toMatchObject({ model: 'redmi-1s', version: '1.4.2', attributes: { ring: 'public' } });
  });
});
