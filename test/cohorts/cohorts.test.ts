import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { compileRule, matchesRule, type CohortRule, type DeviceFacts } from '../../server/cohorts/cohort.js';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { act, createCohort, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';

const device = (over: Partial<DeviceFacts> = {}): DeviceFacts => ({ id: 'd1', model: 'redmi-1s', version: '1.4.1', attributes: { region: 'cn', beta: true, ram: 1 }, ...over });

describe('cohort rules (protocol §5): every condition given must hold', () => {
  it.each<[string, CohortRule, DeviceFacts, boolean]>([
    ['model listed', { models: ['redmi-1s', 'redmi-2'] }, device(), true],
    ['model not listed', { models: ['redmi-2'] }, device(), false],
    ['version in range', { versionRange: '>=1.4.0 <1.5.0' }, device(), true],
    ['version out of range', { versionRange: '<1.4.1' }, device(), false],
    ['attribute equal', { attributes: { region: 'cn' } }, device(), true],
    ['attribute different', { attributes: { region: 'in' } }, device(), false],
    ['attribute in a list of accepted values', { attributes: { region: ['in', 'cn'] } }, device(), true],
    ['attribute missing on the device', { attributes: { carrier: 'cmcc' } }, device(), false],
    ['boolean attribute', { attributes: { beta: true } }, device(), true],
    ['boolean is not the string "true"', { attributes: { beta: 'true' } }, device(), false],
    ['number attribute', { attributes: { ram: 1 } }, device(), true],
    ['number is not the string "1"', { attributes: { ram: '1' } }, device(), false],
    ['all conditions hold', { models: ['redmi-1s'], versionRange: '1.4.x', attributes: { region: 'cn', beta: true } }, device(), true],
    ['one condition fails', { models: ['redmi-1s'], versionRange: '1.4.x', attributes: { region: 'cn', beta: false } }, device(), false],
    ['an inherited property name is not an attribute', { attributes: { constructor: 'x' } }, device(), false],
  ])('%s', (_what, rule, d, expected) => {
    expect(matchesRule(compileRule(rule), d)).toBe(expected);
  });
});

describe('cohorts over HTTP', () => {
  async function setup() {
    const f = await makeApp();
    await publish(f);
    return f;
  }
  const rm = (f: Awaited<ReturnType<typeof makeApp>>) => bearer(f.tokens['release-manager']);

  it('creates, lists and reads cohorts; `all` always exists and has no member list', async () => {
    const f = await setup();
    await createCohort(f, { name: 'qa', description: 'bench', members: ['b', 'a', 'c'] });
    await createCohort(f, { name: 'cn-beta', rule: { attributes: { region: 'cn', beta: true } } });
    const list = await request(f.app).get('/v1/cohorts').set(bearer(f.tokens.viewer));
    expect((list.body as { cohorts: { name: string }[] }).cohorts.map((c) => c.name)).toEqual(['all', 'cn-beta', 'qa']);
    const qa = await request(f.app).get('/v1/cohorts/qa').set(bearer(f.tokens.qa));
    expect(qa.body).toMatchObject({ name: 'qa', description: 'bench', memberCount: 3, members: ['a', 'b', 'c'] });
    const paged = await request(f.app).get('/v1/cohorts/qa').query({ limit: '2' }).set(bearer(f.tokens.qa));
    expect(paged.body).toMatchObject({ members: ['a', 'b'], nextCursor: 'b' });
    const rest = await request(f.app).get('/v1/cohorts/qa').query({ limit: '2', cursor: 'b' }).set(bearer(f.tokens.qa));
    expect(rest.body).toMatchObject({ members: ['c'], nextCursor: null });
    expect((await request(f.app).get('/v1/cohorts/all').set(bearer(f.tokens.viewer))).body).toMatchObject({ name: 'all', members: [] });
    expect((await request(f.app).get('/v1/cohorts/nope').set(bearer(f.tokens.viewer))).status).toBe(404);
  });

  it.each([
    ['a duplicate name', { name: 'qa' }, 409],
    ['the implicit `all`', { name: 'all' }, 409],
    ['a name that is not a slug', { name: 'QA Bench' }, 400],
    ['a bad version range', { name: 'x', rule: { versionRange: 'not a range' } }, 400],
    ['an empty rule', { name: 'x', rule: {} }, 400],
    ['an unknown key', { name: 'x', owner: 'me' }, 400],
    ['a member id that is not a device id', { name: 'x', members: ['has space'] }, 400],
  ])('refuses %s', async (_what, body, status) => {
    const f = await setup();
    await createCohort(f, { name: 'qa' });
    const res = await request(f.app).post('/v1/cohorts').set(rm(f)).send(body);
    expect(res.status, res.text).toBe(status);
    expect(typeof (res.body as { error: { code: string } }).error.code).toBe('string');
  });

  it('PUT members replaces the list, is audited, and polls see the new membership at once', async () => {
    const f = await setup();
    await createCohort(f, { name: 'qa', members: ['m1'] });
    const r = await createRollout(f, { releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'qa', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const t1 = await enroll(f.app, f.tokens.enroller, 'm1');
    const t2 = await enroll(f.app, f.tokens.enroller, 'm2');
    expect((await poll(f.app, 'm1', t1)).body.updates).toHaveLength(1);
    expect((await poll(f.app, 'm2', t2)).body.updates).toEqual([]);

    const put = await request(f.app).put('/v1/cohorts/qa/members').set(rm(f)).send({ members: ['m2'] });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ name: 'qa', memberCount: 1 });
    expect((await poll(f.app, 'm2', t2)).body.updates).toHaveLength(1);
    expect((await poll(f.app, 'm1', t1)).body.updates).toEqual([]);
    expect((await f.ctx.audit.page(0, 100)).some((e) => e.action === 'cohort.members' && e.subject === 'qa')).toBe(true);

    expect((await request(f.app).put('/v1/cohorts/all/members').set(rm(f)).send({ members: ['m1'] })).status).toBe(409);
    expect((await request(f.app).put('/v1/cohorts/nope/members').set(rm(f)).send({ members: ['m1'] })).status).toBe(404);
    expect((await request(f.app).put('/v1/cohorts/qa/members').set(rm(f)).send({ members: 'm1' })).status).toBe(400);
  });

  it('a rule cohort matches on the installed version the device reports when it polls', async () => {
    const f = await setup();
    await createCohort(f, { name: 'old-cn', rule: { models: ['redmi-1s'], versionRange: '<1.4.2', attributes: { region: ['cn', 'hk'] } } });
    const r = await createRollout(f, { releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'old-cn', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const cn = await enroll(f.app, f.tokens.enroller, 'cn-1', 'redmi-1s', '1.4.1', { region: 'cn' });
    const inn = await enroll(f.app, f.tokens.enroller, 'in-1', 'redmi-1s', '1.4.1', { region: 'in' });
    const bare = await enroll(f.app, f.tokens.enroller, 'bare-1', 'redmi-1s', '1.4.1');
    expect((await poll(f.app, 'cn-1', cn, '1.4.1')).body.updates).toHaveLength(1);
    // 1.4.2 is still inside the release's appliesTo but outside the cohort's range.
    expect((await poll(f.app, 'cn-1', cn, '1.4.2')).body.updates).toEqual([]);
    expect((await poll(f.app, 'in-1', inn, '1.4.1')).body.updates).toEqual([]);
    expect((await poll(f.app, 'bare-1', bare, '1.4.1')).body.updates).toEqual([]);
  });

  it('a rollout naming a cohort that does not exist is refused (422), naming the stage', async () => {
    const f = await setup();
    const res = await request(f.app).post('/v1/rollouts').set(rm(f))
      .send({ releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'all', basisPoints: 100 }, { cohort: 'ghost', basisPoints: 100 }], failurePolicy: FAILURE_POLICY });
    expect(res.status).toBe(422);
    expect((res.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)).toEqual(['/stages/1/cohort']);
  });
});
