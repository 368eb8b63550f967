import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, releaseBody, signWith, type AppFixture } from '../helpers/fixtures.js';

/** Posts a raw body exactly as given (no re-serialisation by supertest: a Buffer would otherwise become JSON). */
const postRaw = (f: AppFixture, body: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}) =>
  request(f.app)
    .post('/v1/releases')
    .set(bearer(f.tokens['release-manager']))
    .set('Content-Type', contentType)
    .set(headers)
    .serialize((b: unknown) => b as string)
    .send(body);

const STACK_RE = /\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+|node_modules|Error: /;

/** The spec error body (protocol §7), no stack trace, never a 500. */
function expectErrorBody(res: request.Response, status: number, code: string): void {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as { error: Record<string, unknown> };
  expect(typeof body.error.message).toBe('string');
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
  expect(res.text).not.toMatch(STACK_RE);
}

/** A correctly signed release envelope as JSON text, with `edit` applied to the text. */
function signedText(f: AppFixture, edit: (json: string) => string = (s) => s): string {
  return edit(JSON.stringify(signWith(releaseBody(), f.trust.releaseKeys)));
}

describe('bad input never yields a 500 (protocol §7)', () => {
  it.each<{ name: string; send: (f: AppFixture) => ReturnType<typeof postRaw>; status: number; code: string }>([
    { name: 'malformed JSON', send: (f) => postRaw(f, '{"signed": {'), status: 400, code: 'invalid_json' },
    { name: 'trailing garbage', send: (f) => postRaw(f, `${signedText(f)} x`), status: 400, code: 'invalid_json' },
    { name: 'a bare JSON string (strict)', send: (f) => postRaw(f, '"release"'), status: 400, code: 'invalid_json' },
    { name: 'an empty body', send: (f) => postRaw(f, ''), status: 400, code: 'invalid_json' },
    { name: 'a JSON array', send: (f) => postRaw(f, '[]'), status: 400, code: 'validation_failed' },
    { name: 'invalid UTF-8 (not JSON)', send: (f) => postRaw(f, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), status: 400, code: 'invalid_json' },
    {
      name: 'invalid UTF-8 inside a string',
      send: (f) => {
        const [head, tail] = signedText(f).split('"redmi-1s-cloud') as [string, string];
        return postRaw(f, Buffer.concat([Buffer.from(`${head}"redmi`), Buffer.from([0xff, 0xfe]), Buffer.from(`-1s-cloud${tail}`)]));
      },
      status: 400,
      code: 'invalid_json',
    },
    { name: 'text/plain', send: (f) => postRaw(f, signedText(f), 'text/plain'), status: 415, code: 'unsupported_media_type' },
    { name: 'form encoding', send: (f) => postRaw(f, 'a=b', 'application/x-www-form-urlencoded'), status: 415, code: 'unsupported_media_type' },
    { name: 'a latin1 charset', send: (f) => postRaw(f, signedText(f), 'application/json; charset=latin1'), status: 415, code: 'unsupported_media_type' },
    { name: 'an unknown content encoding', send: (f) => postRaw(f, signedText(f), 'application/json', { 'Content-Encoding': 'br-x' }), status: 415, code: 'unsupported_media_type' },
    { name: 'gzip that is not gzip', send: (f) => postRaw(f, 'not gzip', 'application/json', { 'Content-Encoding': 'gzip' }), status: 415, code: 'unsupported_media_type' },
    { name: 'a real gzip body (no content encodings on JSON routes)', send: (f) => postRaw(f, gzipSync(signedText(f)), 'application/json', { 'Content-Encoding': 'gzip' }), status: 415, code: 'unsupported_media_type' },
    { name: 'a leading byte order mark is ignored (RFC 8259 §8.1), the rest still checked', send: (f) => postRaw(f, `\ufeff${signedText(f, (s) => s.replace('"signed":{', '"signed":{"x":1,'))}`), status: 400, code: 'validation_failed' },
    { name: 'a body over the JSON limit (1 MB id)', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"redmi-1s-cloud-optin-2014-08"', JSON.stringify('a'.repeat(1024 * 1024))))), status: 413, code: 'payload_too_large' },
    { name: 'a 100 kB id under the limit', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"redmi-1s-cloud-optin-2014-08"', JSON.stringify('a'.repeat(100_000))))), status: 400, code: 'validation_failed' },
    { name: 'a 100 kB appliesTo', send: (f) => postRaw(f, signedText(f, (s) => s.replace('">=1.4.0 <1.4.3"', JSON.stringify('1'.repeat(100_000))))), status: 400, code: 'validation_failed' },
    { name: '__proto__ in signed', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"signed":{', '"signed":{"__proto__":{"polluted":true},'))), status: 400, code: 'validation_failed' },
    { name: 'constructor in signed', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"signed":{', '"signed":{"constructor":{"prototype":{"polluted":true}},'))), status: 400, code: 'validation_failed' },
    { name: '__proto__ at the top', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/^\{/, '{"__proto__":{"polluted":true},'))), status: 400, code: 'validation_failed' },
    { name: '__proto__ as a setting key', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"key":"cloud.messaging.enabled"', '"key":"__proto__"'))), status: 400, code: 'validation_failed' },
    { name: 'constructor as a setting key', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"key":"cloud.messaging.enabled"', '"key":"constructor"'))), status: 400, code: 'validation_failed' },
    // protocol §1: a malformed signature is ignored, never counted; with no other signature the threshold fails (422).
    { name: 'a non-hex signature', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"sig":"[0-9a-f]{128}"/, `"sig":"${'zz'.repeat(64)}"`))), status: 422, code: 'signature_invalid' },
    { name: 'an upper-case hex signature', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"sig":"([0-9a-f]{128})"/, (_m, h: string) => `"sig":"${h.toUpperCase()}"`))), status: 422, code: 'signature_invalid' },
    { name: 'a short signature', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"sig":"[0-9a-f]{128}"/, '"sig":"abcd"'))), status: 422, code: 'signature_invalid' },
    { name: 'a signature that is a number', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"sig":"[0-9a-f]{128}"/, '"sig":12'))), status: 400, code: 'validation_failed' },
    { name: 'signatures that is not an array', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"signatures":\[.*\]/, '"signatures":{"0":null}'))), status: 400, code: 'validation_failed' },
    { name: 'an invalid semver range', send: (f) => postRaw(f, signedText(f, (s) => s.replace('">=1.4.0 <1.4.3"', '">=1.4.0 <banana"'))), status: 400, code: 'validation_failed' },
    { name: 'an invalid version', send: (f) => postRaw(f, JSON.stringify(signWith(releaseBody({ version: 'v-one', artifact: { sha256: 'ab'.repeat(32), size: 1 } }), f.trust.releaseKeys))), status: 400, code: 'validation_failed' },
    { name: 'an impossible date', send: (f) => postRaw(f, JSON.stringify(signWith(releaseBody({ issuedAt: '2026-13-45T99:99:99Z' }), f.trust.releaseKeys))), status: 400, code: 'validation_failed' },
    { name: 'a float in signed', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"mandatory":false', '"mandatory":false,"artifact":{"sha256":"' + 'ab'.repeat(32) + '","size":1.5},"version":"1.4.3"'))), status: 400, code: 'validation_failed' },
    { name: 'an unknown member in signed', send: (f) => postRaw(f, signedText(f, (s) => s.replace('"signed":{', '"signed":{"extra":1,'))), status: 400, code: 'validation_failed' },
    { name: 'deeply nested JSON', send: (f) => postRaw(f, `{"signed":${'['.repeat(5000)}${']'.repeat(5000)},"signatures":[]}`), status: 400, code: 'invalid_json' },
    { name: '65 signatures', send: (f) => postRaw(f, signedText(f, (s) => s.replace(/"signatures":\[(.*)\]/, (_m, one: string) => `"signatures":[${Array(65).fill(one).join(',')}]`))), status: 400, code: 'validation_failed' },
  ])('$name → $status $code', async ({ send, status, code }) => {
    const f = await makeApp();
    const res = await send(f);
    expectErrorBody(res, status, code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await f.ctx.releases.page('', 10))).toEqual([]);
  });

  it('validation errors name the offending path', async () => {
    const f = await makeApp();
    const res = await postRaw(f, signedText(f, (s) => s.replace('"signed":{', '"signed":{"__proto__":{"polluted":true},')));
    expect((res.body as { error: { details: { path: string; message: string }[] } }).error.details).toContainEqual(
      expect.objectContaining({ path: '/signed', message: expect.stringContaining('__proto__') }),
    );
  });

  it.each([
    ['an unknown route', (f: AppFixture) => request(f.app).get('/v1/nope').set(bearer(f.tokens.admin)), 404, 'not_found'],
    ['an unknown route without a token (protocol §7: 404 with or without a token)', (f: AppFixture) => request(f.app).get('/v1/nope'), 404, 'not_found'],
    ['a percent-encoding that does not decode', (f: AppFixture) => request(f.app).get('/v1/releases/%E0%A4%A').set(bearer(f.tokens.admin)), 400, 'bad_request'],
    ['a cursor too long', (f: AppFixture) => request(f.app).get(`/v1/releases?cursor=${'a'.repeat(300)}`).set(bearer(f.tokens.admin)), 400, 'bad_request'],
    ['a repeated limit', (f: AppFixture) => request(f.app).get('/v1/releases?limit=1&limit=2').set(bearer(f.tokens.admin)), 400, 'bad_request'],
    ['a JSON body over the limit with a small configured limit', (f: AppFixture) => postRaw(f, JSON.stringify({ pad: 'x'.repeat(2000) })), 413, 'payload_too_large'],
  ] as const)('%s → %i %s', async (_name, send, status, code) => {
    const f = await makeApp({ config: { maxJsonBytes: 1024 } });
    expectErrorBody(await send(f), status, code);
  });

  it.each([
    '/v1/audit?subject=%00', '/v1/devices?cursor=%00', '/v1/releases?cursor=a%00', '/v1/rollouts?cursor=%00',
    '/v1/rollouts/r-1/devices?cursor=%00', '/v1/rollouts?cursor=ok&other=%00', '/v1/releases/a%00b', '/v1/cohorts/%00',
    '/v1/devices/d%00/update', '/v1/devices/d-1/reports',
  ])('a NUL in the request target → 400 bad_request at the edge, on either engine (issue 20 defect 2): %s', async (path) => {
    const f = await makeApp();
    const res = path.endsWith('/reports')
      ? await request(f.app).post(`${path}?x=%00`).set(bearer(f.tokens.viewer)).send({})
      : await request(f.app).get(path).set(bearer(f.tokens.viewer));
    expectErrorBody(res, 400, 'bad_request');
    expect(res.body.error.message).toMatch(/NUL/);
  });

  it('an encoded percent sign followed by 00 (%2500) is a literal "%00", not a NUL: no edge refusal', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/audit?subject=%2500').set(bearer(f.tokens.viewer));
    expect(res.status, res.text).toBe(200);
  });
});
