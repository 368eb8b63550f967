import fc from 'fast-check';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { enroll, publish } from '../helpers/fleet.js';
import { OPERATOR_ROUTES, type Method } from './route-table.js';
import { writeFingerprint } from '../helpers/db-state.js';
import { authRequest, deviceKey } from '../mender/mender-helpers.js';

/**
 * Issue 8 acceptance: thousands of generated malformed bodies, path
 * parameters and query strings against every route in the route table.
 * Whatever arrives: never a 5xx, every error in the protocol §7 shape with no
 * stack trace, and a refused request changes nothing in the database.
 */

interface FuzzRoute {
  method: Method;
  /** `{id}` is replaced by a generated path segment in the path-parameter runs. */
  path: string;
  token: (f: AppFixture, deviceToken: string, menderToken: string) => string | undefined;
  /** The Authorization scheme (default Bearer; the DDI gateway takes TargetToken, protocol §11). */
  scheme?: string;
  /** Which path segment the path-parameter runs replace (default 3: /v1/things/{here}). */
  segment?: number;
}

const DEVICE = 'fuzz-device';
const admin = (f: AppFixture) => f.tokens.admin;
const ROUTES: FuzzRoute[] = [
  ...OPERATOR_ROUTES.map((r) => ({ method: r.method, path: r.path, token: admin })),
  { method: 'post', path: '/v1/devices', token: (f) => f.tokens.enroller },
  { method: 'get', path: `/v1/devices/${DEVICE}/update`, token: (_f, d) => d },
  { method: 'post', path: `/v1/devices/${DEVICE}/reports`, token: (_f, d) => d },
  { method: 'get', path: '/v1/trust/root', token: () => undefined },
  { method: 'get', path: '/v1/trust/root/1', token: () => undefined },
  { method: 'get', path: '/v1/trust/policy', token: () => undefined },
  { method: 'get', path: `/v1/artifacts/${'a'.repeat(64)}`, token: () => undefined },
  { method: 'get', path: '/healthz', token: () => undefined },
  { method: 'get', path: '/v1/log/checkpoint', token: () => undefined },
  { method: 'get', path: '/v1/log/entries', token: () => undefined },
  { method: 'get', path: '/v1/log/proof/inclusion', token: () => undefined },
  { method: 'get', path: '/v1/log/proof/consistency', token: () => undefined },
  { method: 'post', path: '/v1/log/cosignatures', token: () => undefined },
  { method: 'get', path: '/v1/openapi.json', token: () => undefined },
  { method: 'get', path: '/v1/whoami', token: (f) => f.tokens.viewer },
  // protocol §11: the hawkBit DDI gateway, with the device's own TargetToken (segment 4 = controllerId, 6 = actionId).
  { method: 'get', path: `/DEFAULT/controller/v1/${DEVICE}`, token: (_f, d) => d, scheme: 'TargetToken', segment: 4 },
  { method: 'get', path: `/DEFAULT/controller/v1/${DEVICE}/deploymentBase/1`, token: (_f, d) => d, scheme: 'TargetToken', segment: 6 },
  { method: 'post', path: `/DEFAULT/controller/v1/${DEVICE}/deploymentBase/1/feedback`, token: (_f, d) => d, scheme: 'TargetToken', segment: 6 },
  { method: 'get', path: `/DEFAULT/controller/v1/${DEVICE}/cancelAction/1`, token: (_f, d) => d, scheme: 'TargetToken', segment: 6 },
  { method: 'post', path: `/DEFAULT/controller/v1/${DEVICE}/cancelAction/1/feedback`, token: (_f, d) => d, scheme: 'TargetToken', segment: 6 },
  { method: 'put', path: `/DEFAULT/controller/v1/${DEVICE}/configData`, token: (_f, d) => d, scheme: 'TargetToken', segment: 4 },
  { method: 'get', path: `/DEFAULT/controller/v1/${DEVICE}/softwaremodules/${'a'.repeat(64)}/artifacts/x.swu`, token: () => undefined, segment: 6 },
  // The Mender device API (protocol §12), with an admitted Mender device's token.
  { method: 'post', path: '/api/devices/v1/authentication/auth_requests', token: () => undefined },
  { method: 'put', path: '/api/devices/v1/inventory/device/attributes', token: (_f, _d, m) => m },
  { method: 'patch', path: '/api/devices/v1/inventory/device/attributes', token: (_f, _d, m) => m },
  { method: 'post', path: '/api/devices/v2/deployments/device/deployments/next', token: (_f, _d, m) => m },
  { method: 'get', path: '/api/devices/v1/deployments/device/deployments/next', token: (_f, _d, m) => m },
  { method: 'put', path: '/api/devices/v1/deployments/device/deployments/fuzz-rollout/status', token: (_f, _d, m) => m },
  { method: 'put', path: '/api/devices/v1/deployments/device/deployments/fuzz-rollout/log', token: (_f, _d, m) => m },
  { method: 'get', path: `/api/devices/v1/deployments/download/${'a'.repeat(64)}`, token: () => undefined },
];

const STACK_RE = /\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+|node_modules/;

/** Strings that reach the corners: lone surrogates, NUL, huge numbers, prototype keys, deep nesting. */
const nasty = fc.constantFrom('\ud800', '\udfff', 'a\u0000b', '__proto__', 'constructor', '1e999', '-0', '💥', '../..', '%00', '%ED%A0%80', ' ', '');
const scalar = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const knownKeys = fc.constantFrom('signed', 'signatures', 'name', 'members', 'rule', 'releaseId', 'stages', 'failurePolicy', 'deviceId', 'model', 'version', 'attributes', 'seq', 'rolloutId', 'state', 'at', 'error', 'settings', 'cohort', 'basisPoints', '__proto__');
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(fc.oneof(knownKeys, fc.string(), nasty), tie('any'), { maxKeys: 5 })),
})).any;

/** Bodies as bytes on the wire: JSON of generated values, JSON text edited into invalid forms, raw noise. */
const body = fc.oneof(
  value.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.dictionary(knownKeys, value, { maxKeys: 8 }).map((v) => JSON.stringify(v)),
  fc.tuple(value, fc.constantFrom('\\ud800', '1e999', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', '"\\u0000"')).map(([v, bad]) => `{"x":${JSON.stringify(v) ?? 'null'},"y":${bad}}`),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
);

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/json; charset=utf-16', 'application/octet-stream');
const queryValue = fc.oneof(fc.string(), nasty, fc.integer().map(String), fc.constant('%'));
const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'state', 'version', 'start', 'end', 'size', 'index', 'from', 'to', 'x', 'admission', 'device_type', 'artifact_name', 'expires', 'signature'), queryValue, { maxKeys: 4 });
const segment = fc.oneof(fc.string({ minLength: 1 }), nasty.filter((s) => s.length > 0), fc.constant('%E0%A4%A'), fc.constant('a'.repeat(300)));

function send(f: AppFixture, route: FuzzRoute, token: string | undefined, path: string, opts: { body?: string; type?: string; query?: Record<string, string> }) {
  let req = request(f.app)[route.method](path);
  if (token) req = req.set(route.scheme ? { Authorization: `${route.scheme} ${token}` } : bearer(token));
  if (opts.query) req = req.query(opts.query);
  if (opts.body !== undefined) req = req.set('Content-Type', opts.type ?? 'application/json').serialize((b: unknown) => b as string).send(opts.body);
  return req;
}

describe('fuzzing every route: no 5xx, §7 errors, refused requests change nothing', () => {
  let f: AppFixture;
  let deviceToken: string;
  let menderToken: string;
  const changes = () => writeFingerprint(f.ctx.sql);

  beforeAll(async () => {
    f = await makeApp();
    await publish(f);
    deviceToken = await enroll(f.app, f.tokens.enroller, DEVICE);
    const key = deviceKey('ec');
    const idData = { mac: '52:54:00:fu:zz:00' };
    await request(f.app).post('/v1/preauthorizations').set(bearer(f.tokens['release-manager'])).send({ idData: JSON.stringify(idData), pubkey: key.pem }).expect(201);
    const auth = authRequest(idData, key);
    const admitted = await request(f.app).post('/api/devices/v1/authentication/auth_requests').set('Content-Type', 'application/json').set('X-MEN-Signature', auth.signature).send(auth.body.toString()).expect(200);
    menderToken = admitted.text;
  });

  const check = async (res: request.Response, before: string) => {
    expect(res.status, `${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400) {
      const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
      expect(typeof error?.code, res.text.slice(0, 300)).toBe('string');
      expect(typeof error?.message).toBe('string');
      expect(res.text).not.toMatch(STACK_RE);
      expect(await changes(), `a refused ${res.status} changed the database`).toBe(before);
    }
  };

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: generated bodies and query strings', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(body, contentType, fc.option(query, { nil: undefined }), async (b, type, q) => {
        await f.ctx.activity.flushAll();
        const before = await changes();
        const withBody = route.method !== 'get';
        await check(await send(f, route, route.token(f, deviceToken, menderToken), route.path, { ...(withBody ? { body: b, type } : {}), ...(q ? { query: q } : {}) }), before);
      }),
      { numRuns: 100, seed: 8 },
    );
  });

  it.each(ROUTES.filter((r) => r.segment !== undefined || /\/v1\/[a-z]+\/[^/]+/.test(r.path)).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('%s: generated path parameters', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(segment, async (seg) => {
        await f.ctx.activity.flushAll();
        const before = await changes();
        const parts = route.path.split('/');
        // Percent-encoded bytes as sent (a lone surrogate has no UTF-8 form: Buffer makes it U+FFFD).
        parts[route.segment ?? 3] = /%/.test(seg) ? seg : [...Buffer.from(seg, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
        await check(await send(f, route, route.token(f, deviceToken, menderToken), parts.join('/'), route.method === 'get' ? {} : { body: '{}' }), before);
      }),
      { numRuns: 25, seed: 8 },
    );
  });
});
