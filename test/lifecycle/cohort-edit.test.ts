import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createCohort, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const put = (f: AppFixture, name: string, body: unknown, token = f.tokens['release-manager']) =>
  request(f.app).put(`/v1/cohorts/${name}`).set(bearer(token)).send(body as object);
const del = (f: AppFixture, name: string, token = f.tokens['release-manager']) => request(f.app).delete(`/v1/cohorts/${name}`).set(bearer(token));
const get = (f: AppFixture, name: string) => request(f.app).get(`/v1/cohorts/${name}`).set(bearer(f.tokens.viewer));
const offers = async (f: AppFixture, id: string, token: string) => ((await poll(f.app, id, token)).body as { updates: unknown[] }).updates.length;

describe('PUT /v1/cohorts/{name} (protocol §7 fleet lifecycle)', () => {
  it('replaces the fields given, keeps the others, and eligibility follows the new rule at once', async () => {
    const f = await makeApp();
    await publish(f);
    await createCohort(f, { name: 'cn', description: 'China', members: ['m1'], rule: { attributes: { region: 'cn' } } });
    await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'cn', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, 'r1', 'start')).status).toBe(200);
    const cn = await enroll(f.app, f.tokens.enroller, 'cn-1', 'redmi-1s', '1.4.1', { region: 'cn' });
    const eu = await enroll(f.app, f.tokens.enroller, 'eu-1', 'redmi-1s', '1.4.1', { region: 'eu' });
    expect([await offers(f, 'cn-1', cn), await offers(f, 'eu-1', eu)]).toEqual([1, 0]);

    const res = await put(f, 'cn', { rule: { attributes: { region: ['cn', 'eu'] } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ name: 'cn', description: 'China', memberCount: 1, rule: { attributes: { region: ['cn', 'eu'] } } });
    expect(await offers(f, 'eu-1', eu)).toBe(1);

    // null removes a field; the explicit member stays a member.
    const cleared = await put(f, 'cn', { description: null, rule: null });
    expect(cleared.body).not.toHaveProperty('rule');
    expect(cleared.body).not.toHaveProperty('description');
    expect(cleared.body).toMatchObject({ memberCount: 1 });
    expect([await offers(f, 'cn-1', cn), await offers(f, 'eu-1', eu)]).toEqual([0, 0]);

    const audit = (await request(f.app).get('/v1/audit').query({ subject: 'cn' }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; details: { before?: unknown; after?: unknown } }[] };
    const updates = audit.entries.filter((e) => e.action === 'cohort.update');
    expect(updates).toHaveLength(2);
    expect(updates[0]?.details).toEqual({ before: { description: 'China', rule: { attributes: { region: 'cn' } } }, after: { description: 'China', rule: { attributes: { region: ['cn', 'eu'] } } } });
  });

  it.each([
    ['an empty body', {}, 400],
    ['a name change', { name: 'other' }, 400],
    ['members (they have their own route)', { members: ['a'] }, 400],
    ['an empty rule', { rule: {} }, 400],
    ['a bad version range', { rule: { versionRange: 'nope' } }, 400],
  ])('refuses %s and changes nothing', async (_what, body, code) => {
    const f = await makeApp();
    await createCohort(f, { name: 'qa', description: 'bench' });
    const res = await put(f, 'qa', body);
    expect(res.status).toBe(code);
    expect((res.body as { error: { code: string } }).error.code).toBe('validation_failed');
    expect((await get(f, 'qa')).body).toMatchObject({ description: 'bench', updatedAt: (await get(f, 'qa')).body.createdAt });
  });

  it('404 for an unknown cohort, 409 for `all`, 403 for readers', async () => {
    const f = await makeApp();
    await createCohort(f, { name: 'qa' });
    expect((await put(f, 'nope', { description: 'x' })).status).toBe(404);
    expect((await put(f, 'all', { description: 'x' })).status).toBe(409);
    expect((await put(f, 'qa', { description: 'x' }, f.tokens.qa)).status).toBe(403);
    expect((await put(f, 'qa', { description: 'x' }, f.tokens.admin)).status).toBe(200);
  });
});

describe('DELETE /v1/cohorts/{name} (protocol §7 fleet lifecycle)', () => {
  it('is 409 while a draft, running, paused or halted rollout names it, and 204 once it is completed or cancelled', async () => {
    const f = await makeApp();
    await publish(f);
    await createCohort(f, { name: 'qa', members: ['a', 'b'] });
    await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'qa', basisPoints: 10000 }, { cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    const draft = await del(f, 'qa');
    expect(draft.status).toBe(409);
    expect((draft.body as { error: { message: string; details: { path: string }[] } }).error).toMatchObject({ message: expect.stringContaining('r1'), details: [{ path: '/v1/rollouts/r1' }] });
    expect((await act(f, 'r1', 'start')).status).toBe(200);
    expect((await del(f, 'qa')).status).toBe(409);
    expect((await act(f, 'r1', 'cancel')).status).toBe(200);

    expect((await del(f, 'qa', f.tokens.viewer)).status).toBe(403);
    expect((await del(f, 'qa')).status).toBe(204);
    expect((await get(f, 'qa')).status).toBe(404);
    expect((await del(f, 'qa')).status).toBe(404);
    expect((await del(f, 'all')).status).toBe(409);
    // The name is free again, with no members left behind.
    await createCohort(f, { name: 'qa' });
    expect((await get(f, 'qa')).body).toMatchObject({ memberCount: 0, members: [] });
    const audit = (await request(f.app).get('/v1/audit').query({ subject: 'qa' }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; details: unknown }[] };
    expect(audit.entries.map((e) => e.action)).toEqual(['cohort.create', 'cohort.delete', 'cohort.create']);
    expect(audit.entries[1]?.details).toEqual({ description: null, rule: null, members: 2 });
  });
});
