import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { poll } from '../helpers/fleet.js';

const body = (deviceId: string) => ({ deviceId, model: 'redmi-1s', version: '1.4.1', attributes: { region: 'eu' } });
const codeOf = (res: request.Response) => (res.body as { error?: { code?: string } }).error?.code;

/** POST /v1/devices is answered by the device edge (http/device-edge.ts, devices/device-routes.ts) with the rules the Express route had. */
describe('enrollment on the device edge', () => {
  it('enrolls (201, stored before the answer) and the token polls at once', async () => {
    const f = await makeApp();
    const res = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send(body('dev-1'));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toMatchObject({ deviceId: 'dev-1', reenrolled: false });
    expect((await f.ctx.devices.get('dev-1'))?.model).toBe('redmi-1s');
    expect((await poll(f.app, 'dev-1', (res.body as { deviceToken: string }).deviceToken)).status).toBe(200);
  });

  it('refuses in the Express order: 401 without a token, 403 for another role, 415, 400 invalid JSON, 400 schema; nothing stored', async () => {
    const f = await makeApp();
    const none = await request(f.app).post('/v1/devices').send(body('dev-1'));
    expect([none.status, codeOf(none), none.headers['www-authenticate']]).toEqual([401, 'unauthorized', 'Bearer']);
    const qa = await request(f.app).post('/v1/devices').set(bearer(f.tokens.qa)).send(body('dev-1'));
    expect([qa.status, codeOf(qa)]).toEqual([403, 'forbidden']);
    const text = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).set('Content-Type', 'text/plain').send('{}');
    expect([text.status, codeOf(text)]).toEqual([415, 'unsupported_media_type']);
    const broken = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).set('Content-Type', 'application/json').send('{"deviceId":');
    expect([broken.status, codeOf(broken)]).toEqual([400, 'invalid_json']);
    const invalid = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send({ ...body('dev-1'), version: 'one' });
    expect([invalid.status, codeOf(invalid)]).toEqual([400, 'validation_failed']);
    expect((await f.ctx.devices.count())).toBe(0);
  });

  it('re-enrollment with the device token rotates it; the old token stops working at once', async () => {
    const f = await makeApp();
    const first = (await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send(body('dev-1'))).body as { deviceToken: string };
    expect((await poll(f.app, 'dev-1', first.deviceToken)).status).toBe(200);
    const again = await request(f.app).post('/v1/devices').set(bearer(first.deviceToken)).send(body('dev-1'));
    expect(again.status).toBe(201);
    expect((again.body as { reenrolled: boolean }).reenrolled).toBe(true);
    expect((await poll(f.app, 'dev-1', first.deviceToken)).status).toBe(401);
    expect((await poll(f.app, 'dev-1', (again.body as { deviceToken: string }).deviceToken)).status).toBe(200);
  });

  it('shares one per-credential rate limit with the Express routes (429 with Retry-After)', async () => {
    const f = await makeApp({ config: { rateLimitPerMinute: 2 } });
    expect((await request(f.app).post('/v1/devices').set(bearer(f.tokens.admin)).send(body('dev-1'))).status).toBe(201);
    expect((await request(f.app).get('/v1/rollouts').set(bearer(f.tokens.admin))).status).toBe(200);
    const limited = await request(f.app).post('/v1/devices').set(bearer(f.tokens.admin)).send(body('dev-2'));
    expect([limited.status, codeOf(limited)]).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(f.app).get('/v1/rollouts').set(bearer(f.tokens.admin))).status).toBe(429);
    expect((await f.ctx.devices.get('dev-2'))).toBeUndefined();
  });

  it('other spellings Express accepted (trailing slash) are enrolled the same way', async () => {
    const f = await makeApp();
    const res = await request(f.app).post('/v1/devices/').set(bearer(f.tokens.enroller)).send(body('dev-9'));
    expect(res.status).toBe(201);
    expect((await f.ctx.devices.get('dev-9'))).toBeDefined();
  });
});
