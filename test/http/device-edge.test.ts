import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createDeviceEdgeOf } from '../../server/app.js';
import { limitPrincipal } from '../../server/http/rate-limit.js';
import { createRequestObserver } from '../../server/http/request-observer.js';
import { bearer } from '../helpers/fixtures.js';
import { poll, report } from '../helpers/fleet.js';
import { enrollAll, reportOf, scenario } from '../rollouts/scenario.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** The two headers every answer carries, whichever stack served it (issue 16). */
function expectEdgeHeaders(res: request.Response, what: string): void {
  expect(res.headers['x-request-id'], what).toMatch(REQUEST_ID_RE);
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
}

/**
 * Poll, report and enrollment are answered by the device edge
 * (http/device-edge.ts): successes and refusals alike carry X-Request-Id and
 * nosniff, a well-formed id the client sent is echoed, and refusals carry the
 * §7 error body.
 */
describe('device edge: the same headers on every answer of the hot routes', () => {
  it('poll 200, HEAD, 304, 400, 401, 403; report 200, 400, 401, 415; enroll 201, 400, 401, 403', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['edge-1', 'edge-2']);
    const token = tokens.get('edge-1') as string;
    const other = tokens.get('edge-2') as string;
    const app = s.f.app;
    const pollUrl = '/v1/devices/edge-1/update';

    const ok = await poll(app, 'edge-1', token);
    expect(ok.status).toBe(200);
    expect((ok.body as { updates: unknown[] }).updates).toHaveLength(1);
    const answers: [string, request.Response, number][] = [
      ['poll 200', ok, 200],
      ['poll HEAD', await request(app).head(pollUrl).query({ version: '1.4.1' }).set(bearer(token)), 200],
      ['poll 304', await request(app).get(pollUrl).query({ version: '1.4.1' }).set(bearer(token)).set('If-None-Match', ok.headers.etag as string), 304],
      ['poll 400', await request(app).get(pollUrl).query({ version: 'one' }).set(bearer(token)), 400],
      ['poll 401', await request(app).get(pollUrl), 401],
      ['poll 403', await poll(app, 'edge-1', other), 403],
      ['report 200', await report(app, 'edge-1', token, reportOf(s, 1, 'received')), 200],
      ['report 400', await report(app, 'edge-1', token, { seq: 'x' }), 400],
      ['report 401', await request(app).post('/v1/devices/edge-1/reports').send(reportOf(s, 2, 'downloading')), 401],
      ['report 415', await request(app).post('/v1/devices/edge-1/reports').set(bearer(token)).set('Content-Type', 'text/plain').send('{}'), 415],
      ['enroll 201', await request(app).post('/v1/devices').set(bearer(s.f.tokens.enroller)).send({ deviceId: 'edge-3', model: 'redmi-1s', version: '1.4.1' }), 201],
      ['enroll 400', await request(app).post('/v1/devices').set(bearer(s.f.tokens.enroller)).send({ deviceId: 'edge-4' }), 400],
      ['enroll 401', await request(app).post('/v1/devices').send({ deviceId: 'edge-4', model: 'redmi-1s', version: '1.4.1' }), 401],
      ['enroll 403', await request(app).post('/v1/devices').set(bearer(s.f.tokens.qa)).send({ deviceId: 'edge-4', model: 'redmi-1s', version: '1.4.1' }), 403],
    ];
    for (const [what, res, status] of answers) {
      expect(res.status, what).toBe(status);
      expectEdgeHeaders(res, what);
      if (status >= 400) {
        expect(Object.keys(res.body as object), what).toEqual(['error']);
        expect(res.headers['content-type'], what).toBe('application/json; charset=utf-8');
      }
    }
    // Each answer its own id.
    expect(new Set(answers.map(([, res]) => res.headers['x-request-id'] as string)).size).toBe(answers.length);
  });

  it('echoes a well-formed X-Request-Id the client sent, on success and refusal; replaces a malformed one', async () => {
    const s = await scenario();
    const token = (await enrollAll(s.f, ['edge-1'])).get('edge-1') as string;
    const mine = await poll(s.f.app, 'edge-1', token).set('X-Request-Id', 'lb-7f3a.42');
    expect([mine.status, mine.headers['x-request-id']]).toEqual([200, 'lb-7f3a.42']);
    const refused = await request(s.f.app).post('/v1/devices/edge-1/reports').set('X-Request-Id', 'lb-7f3a.43').send({});
    expect([refused.status, refused.headers['x-request-id']]).toEqual([401, 'lb-7f3a.43']);
    const bad = await poll(s.f.app, 'edge-1', token).set('X-Request-Id', 'no spaces <here>');
    expect(bad.headers['x-request-id']).not.toBe('no spaces <here>');
    expect(bad.headers['x-request-id']).toMatch(REQUEST_ID_RE);
  });

  it('counts every edge answer in /metrics under its route label, refusals included', async () => {
    const s = await scenario();
    const token = (await enrollAll(s.f, ['edge-1'])).get('edge-1') as string;
    await poll(s.f.app, 'edge-1', token);
    await request(s.f.app).get('/v1/devices/edge-1/update');
    const metrics = await request(s.f.app).get('/metrics').set(bearer(s.f.tokens.admin));
    const count = (status: string) =>
      Number(new RegExp(`http_requests_total\\{[^}]*route="/v1/devices/:deviceId/update"[^}]*status="${status}"[^}]*\\} (\\d+)`).exec(metrics.text as string)?.[1]
        ?? new RegExp(`http_requests_total\\{[^}]*status="${status}"[^}]*route="/v1/devices/:deviceId/update"[^}]*\\} (\\d+)`).exec(metrics.text as string)?.[1]);
    expect(count('2xx')).toBe(1);
    expect(count('4xx')).toBe(1);
  });
});

describe('device edge: every registered route of every protocol', () => {
  it('native, DDI and Mender routes alike answer a request without a credential with 4xx, the §7 body, X-Request-Id and nosniff', async () => {
    const s = await scenario();
    const observer = createRequestObserver({ logger: s.f.ctx.logger, metrics: s.f.ctx.metrics, authFailuresPerMinute: 1000 });
    const routes = createDeviceEdgeOf(s.f.ctx, observer, limitPrincipal(1000)).routes().filter((r) => r.method !== 'HEAD');
    // The three protocols are all on the one edge (issue 16).
    expect(routes.map((r) => r.route)).toEqual(expect.arrayContaining(['/v1/devices/:deviceId/update', '/{tenant}/controller/v1/{controllerId}', '/api/devices/v2/deployments/device/deployments/next', '/api/devices/v1/authentication/auth_requests']));
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const { method, route } of routes) {
      const path = route.replace(':deviceId', 'edge-1').replace(':id', 'r1').replace('{tenant}', 'DEFAULT').replace('{controllerId}', 'edge-1');
      const res = await request(s.f.app)[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch'](path).set('Content-Type', 'application/json').send('{}');
      const what = `${method} ${route}`;
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      expectEdgeHeaders(res, what);
      expect(Object.keys(res.body as object), what).toEqual(['error']);
    }
  });
});
