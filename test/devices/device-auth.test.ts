import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ROLES } from '../../server/auth/principal.js';
import { bearer } from '../helpers/fixtures.js';
import { poll } from '../helpers/fleet.js';
import { enrollAll, reportOf, scenario, type Scenario } from '../rollouts/scenario.js';

const expectError = (res: request.Response, status: number, code: string) => {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }, res.text).toEqual({ status, code });
  expect(typeof (res.body as { error: { message: unknown } }).error.message).toBe('string');
};

type Route = { name: string; call: (s: Scenario, deviceId: string, authorization?: string) => request.Test };

/** Every route scoped to one device (protocol §7). */
const DEVICE_ROUTES: Route[] = [
  {
    name: 'GET /v1/devices/{id}/update',
    call: (s, id, authorization) => {
      const req = request(s.f.app).get(`/v1/devices/${id}/update`).query({ version: '1.4.1' });
      return authorization === undefined ? req : req.set('Authorization', authorization);
    },
  },
  {
    name: 'POST /v1/devices/{id}/reports',
    call: (s, id, authorization) => {
      const req = request(s.f.app).post(`/v1/devices/${id}/reports`);
      return (authorization === undefined ? req : req.set('Authorization', authorization)).send(reportOf(s, 1, 'received'));
    },
  },
];

async function setup() {
  const s = await scenario();
  const tokens = await enrollAll(s.f, ['alice', 'bob']);
  return { s, alice: tokens.get('alice') as string, bob: tokens.get('bob') as string };
}

/** Nothing a refused request could have written: reports, last-seen, offers. */
async function untouched(s: Scenario) {
  await s.f.ctx.activity.flushAll();
  expect((await s.f.ctx.reports.count())).toBe(0);
  expect((await s.f.ctx.devices.get('alice'))?.lastSeen).toBe((await s.f.ctx.devices.get('alice'))?.enrolledAt);
  expect((await s.f.ctx.rolloutDevices.wasOffered(s.rolloutId, 'alice'))).toBe(false);
}

describe.each(DEVICE_ROUTES)('$name: 401 / 403 (protocol §7)', ({ call }) => {
  // A header that is there but not a bearer token is a token that is not valid, not a missing one.
  const MISSING = /^a device token is required$/;
  const MALFORMED = /^the token is not valid: expected "Authorization: Bearer <token>"/;
  it.each([
    ['no Authorization header', undefined, MISSING],
    ['an empty bearer', 'Bearer ', MALFORMED],
    ['a garbage token', 'Bearer not-a-token', MALFORMED],
    ['an unknown device token', 'Bearer dev_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', /^the token is not valid$/],
    ['an unknown operator token', 'Bearer ota_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', /^the token is not valid$/],
    ['Basic credentials', 'Basic YWxpY2U6c2VjcmV0', MALFORMED],
  ])('%s → 401', async (_what, header, message) => {
    const { s } = await setup();
    const res = await call(s, 'alice', header);
    expectError(res, 401, 'unauthorized');
    expect((res.body as { error: { message: string } }).error.message).toMatch(message);
    await untouched(s);
  });

  it("another device's token → 403", async () => {
    const { s, bob } = await setup();
    expectError(await call(s, 'alice', `Bearer ${bob}`), 403, 'forbidden');
    await untouched(s);
  });

  it("a device's token on a device id that is not enrolled → 403", async () => {
    const { s, bob } = await setup();
    expectError(await call(s, 'nobody', `Bearer ${bob}`), 403, 'forbidden');
  });

  it.each(OPERATOR_ROLES)('an operator token (%s) where a device token is required → 403', async (role) => {
    const { s } = await setup();
    expectError(await call(s, 'alice', `Bearer ${s.f.tokens[role]}`), 403, 'forbidden');
    await untouched(s);
  });

  it('its own token → not refused', async () => {
    const { s, alice } = await setup();
    const res = await call(s, 'alice', `Bearer ${alice}`);
    expect(res.status, res.text).toBe(200);
  });
});

describe('enrollment (protocol §7: POST /v1/devices)', () => {
  const body = { deviceId: 'new-1', model: 'redmi-1s', version: '1.4.1', attributes: { region: 'cn' } };
  const enrollWith = (s: Scenario, token: string | undefined, b: object = body) => {
    const req = request(s.f.app).post('/v1/devices');
    return (token === undefined ? req : req.set(bearer(token))).send(b);
  };

  it('an enroller token → 201 with a device token that works, stored hashed', async () => {
    const { s } = await setup();
    const res = await enrollWith(s, s.f.tokens.enroller);
    expect(res.status).toBe(201);
    const token = (res.body as { deviceToken: string }).deviceToken;
    expect(typeof token).toBe('string');
    expect((await poll(s.f.app, 'new-1', token)).status).toBe(200);
    const stored = (await s.f.ctx.sql.value('SELECT token_hash FROM devices WHERE id = ?', ['new-1'])) as Buffer;
    expect(stored.toString('utf8')).not.toContain(token);
    expect(stored.toString('hex')).not.toContain(Buffer.from(token).toString('hex'));
    expect((await s.f.ctx.devices.get('new-1'))).toMatchObject({ model: 'redmi-1s', version: '1.4.1', attributes: { region: 'cn' } });
  });

  it.each(['viewer', 'qa', 'release-manager'] as const)('a %s token → 403, nothing enrolled', async (role) => {
    const { s } = await setup();
    expectError(await enrollWith(s, s.f.tokens[role]), 403, 'forbidden');
    expect((await s.f.ctx.devices.get('new-1'))).toBeUndefined();
  });

  it('no token → 401; a garbage token → 401, told it is not valid rather than missing', async () => {
    const { s } = await setup();
    const none = await enrollWith(s, undefined);
    expectError(none, 401, 'unauthorized');
    expect((none.body as { error: { message: string } }).error.message).toBe('a bearer token is required');
    const garbage = await enrollWith(s, 'garbage');
    expectError(garbage, 401, 'unauthorized');
    expect((garbage.body as { error: { message: string } }).error.message).toMatch(/^the token is not valid: expected "Authorization: Bearer <token>"/);
  });

  it('re-enrolling an existing id with the enroller token → 409, and the device keeps its token', async () => {
    const { s, alice } = await setup();
    expectError(await enrollWith(s, s.f.tokens.enroller, { ...body, deviceId: 'alice', model: 'evil' }), 409, 'conflict');
    expect((await s.f.ctx.devices.get('alice'))?.model).toBe('redmi-1s');
    expect((await poll(s.f.app, 'alice', alice)).status).toBe(200);
  });

  it('re-enrolling with its current device token → 201; the old token stops working at once, the new one works', async () => {
    const { s, alice } = await setup();
    const res = await enrollWith(s, alice, { deviceId: 'alice', model: 'redmi-1s', version: '1.4.2' });
    expect(res.status).toBe(201);
    const fresh = (res.body as { deviceToken: string }).deviceToken;
    expect(fresh).not.toBe(alice);
    expectError(await poll(s.f.app, 'alice', alice), 401, 'unauthorized');
    expectError(await request(s.f.app).post('/v1/devices/alice/reports').set(bearer(alice)).send(reportOf(s, 1, 'received')), 401, 'unauthorized');
    expect((await poll(s.f.app, 'alice', fresh)).status).toBe(200);
    expect((await s.f.ctx.devices.get('alice'))?.version).toBe('1.4.2');
    // The old token cannot re-enroll again either.
    expectError(await enrollWith(s, alice, { deviceId: 'alice', model: 'redmi-1s', version: '1.4.1' }), 401, 'unauthorized');
    // A re-enrollment replaces a credential: it is audited.
    expect((await s.f.ctx.audit.page(0, 1000)).some((e) => e.action === 'device.reenroll' && e.subject === 'alice')).toBe(true);
  });

  it('two re-enrollments racing with the same token: only one gets a token, since the other no longer holds the current one', async () => {
    const { s, alice } = await setup();
    const again = { deviceId: 'alice', model: 'redmi-1s', version: '1.4.1' };
    const results = await Promise.all([enrollWith(s, alice, again), enrollWith(s, alice, again)]);
    const [won, lost] = [...results].sort((a, b) => a.status - b.status) as [request.Response, request.Response];
    expect(won.status).toBe(201);
    expectError(lost, 401, 'unauthorized');
    const issued = (results.find((r) => r.status === 201)?.body as { deviceToken: string }).deviceToken;
    expect((await poll(s.f.app, 'alice', issued)).status).toBe(200);
  });

  it('concurrent first enrollments of one id: one 201, one 409', async () => {
    const { s } = await setup();
    const results = await Promise.all([enrollWith(s, s.f.tokens.enroller), enrollWith(s, s.f.tokens.enroller)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('a device token cannot enroll a new id or re-enroll another → 403, the same answer whether the id exists (protocol §7 role table; issue 20 defect 3)', async () => {
    const { s, bob } = await setup();
    expectError(await enrollWith(s, bob, { ...body, deviceId: 'alice' }), 403, 'forbidden');
    expectError(await enrollWith(s, bob, body), 403, 'forbidden');
    expect((await s.f.ctx.devices.get('new-1'))).toBeUndefined();
  });

  it.each([
    ['a device id with a slash', { ...body, deviceId: 'a/b' }],
    ['a device id starting with a dot', { ...body, deviceId: '.hidden' }],
    ['a device id of 129 characters', { ...body, deviceId: 'x'.repeat(129) }],
    ['a version that is not semver', { ...body, version: '1.4' }],
    ['an unknown key', { ...body, admin: true }],
    ['a missing model', { deviceId: 'x', version: '1.4.1' }],
  ])('%s → 400', async (_what, b) => {
    const { s } = await setup();
    const res = await enrollWith(s, s.f.tokens.enroller, b);
    expect(res.status, res.text).toBe(400);
    expect((await s.f.ctx.devices.count())).toBe(2);
  });
});
