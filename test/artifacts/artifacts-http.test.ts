import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { bearer, makeApp, releaseBody, signWith, tempDir, type AppFixture } from '../helpers/fixtures.js';

const payload = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const upload = (f: AppFixture, bytes: Buffer, token = f.tokens['release-manager']) =>
  request(f.app).put('/v1/artifacts').set(bearer(token)).set('Content-Type', 'application/octet-stream').send(bytes);

const artifactRows = async (f: AppFixture) => ((await f.ctx.sql.one('SELECT COUNT(*) AS n FROM artifacts')) as { n: number }).n;
const tmpFiles = (f: AppFixture) => readdirSync(join(f.ctx.config.dataDir, 'artifacts', 'tmp'));

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Streams `chunks` with Transfer-Encoding: chunked (no Content-Length), as a client that does not announce the size. */
async function chunkedUpload(f: AppFixture, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  const server = createServer(f.app).listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'PUT', path: '/v1/artifacts', headers: { ...bearer(f.tokens['release-manager']), 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    // The server may answer (and stop reading) before every chunk is written.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('PUT /v1/artifacts', () => {
  it('keeps the bytes in OTA_ARTIFACT_DIR when it is set (protocol §9: a folder several nodes may share)', async () => {
    const shared = tempDir('ota-artifacts-');
    const f = await makeApp({ config: { artifactDir: shared } });
    expect((await upload(f, payload)).status).toBe(201);
    expect(f.ctx.artifacts.pathOf(sha(payload)).startsWith(shared)).toBe(true);
    expect(existsSync(f.ctx.artifacts.pathOf(sha(payload)))).toBe(true);
    expect(existsSync(join(f.ctx.config.dataDir, 'artifacts'))).toBe(false);
    expect(loadConfig({ OTA_ARTIFACT_DIR: shared }).artifactDir).toBe(shared);
  });

  it('stores the bytes under their SHA-256 (201 {sha256,size}) and accepts the same bytes again', async () => {
    const f = await makeApp();
    const res = await upload(f, payload);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ sha256: sha(payload), size: payload.length });
    expect(existsSync(f.ctx.artifacts.pathOf(sha(payload)))).toBe(true);

    const again = await upload(f, payload);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(res.body);
    expect(await artifactRows(f)).toBe(1);
    expect((await f.ctx.audit.page(0, 10)).map((e) => e.action)).toEqual(['artifact.upload']);
    expect(tmpFiles(f)).toEqual([]);
  });

  it('stores an empty artifact', async () => {
    const f = await makeApp();
    const res = await upload(f, Buffer.alloc(0));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ sha256: sha(Buffer.alloc(0)), size: 0 });
  });

  it('takes the body as raw bytes whatever its Content-Type (protocol §7: "raw bytes"; curl --data-binary sends a form type)', async () => {
    const f = await makeApp();
    const res = await request(f.app).put('/v1/artifacts').set(bearer(f.tokens['release-manager'])).set('Content-Type', 'application/x-www-form-urlencoded').send('a=1&b=2');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ sha256: sha(Buffer.from('a=1&b=2')), size: 7 });
  });

  it('413 when Content-Length is over the limit; nothing left behind', async () => {
    const f = await makeApp({ config: { maxArtifactBytes: 1000 } });
    const res = await upload(f, Buffer.alloc(1001, 7));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(await artifactRows(f)).toBe(0);
    expect(tmpFiles(f)).toEqual([]);
  });

  it('413 when a chunked upload grows over the limit while streaming; nothing left behind', async () => {
    const f = await makeApp({ config: { maxArtifactBytes: 1000 } });
    const res = await chunkedUpload(f, Array.from({ length: 8 }, () => Buffer.alloc(400, 1)));
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(await artifactRows(f)).toBe(0);
    expect(tmpFiles(f)).toEqual([]);
    expect(readdirSync(join(f.ctx.config.dataDir, 'artifacts'))).toEqual(['tmp']);
  });

  it('accepts exactly the limit, chunked', async () => {
    const f = await makeApp({ config: { maxArtifactBytes: 1000 } });
    const res = await chunkedUpload(f, [Buffer.alloc(600, 2), Buffer.alloc(400, 2)]);
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toEqual({ sha256: sha(Buffer.alloc(1000, 2)), size: 1000 });
  });
});

describe('GET /v1/artifacts/:sha256 (public)', () => {
  async function withArtifact(): Promise<AppFixture> {
    const f = await makeApp();
    expect((await upload(f, payload)).status).toBe(201);
    return f;
  }
  const get = (f: AppFixture, headers: Record<string, string> = {}) => request(f.app).get(`/v1/artifacts/${sha(payload)}`).set(headers).buffer(true).parse((res, cb) => {
    const parts: Buffer[] = [];
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => cb(null, Buffer.concat(parts)));
  });

  it('serves the bytes with a strong ETag, Accept-Ranges and immutable caching, without a token', async () => {
    const f = await withArtifact();
    const res = await get(f);
    expect(res.status).toBe(200);
    expect(Buffer.compare(res.body as Buffer, payload)).toBe(0);
    expect(res.headers.etag).toBe(`"${sha(payload)}"`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['cache-control']).toMatch(/immutable/);
    expect(res.headers['cache-control']).toMatch(/max-age=\d{6,}/);
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('304 for If-None-Match with the ETag', async () => {
    const f = await withArtifact();
    const res = await get(f, { 'If-None-Match': `"${sha(payload)}"` });
    expect(res.status).toBe(304);
    expect((await get(f, { 'If-None-Match': '"other"' })).status).toBe(200);
  });

  it.each([
    { range: 'bytes=0-9', from: 0, to: 9 },
    { range: 'bytes=10-', from: 10, to: 99 },
    { range: 'bytes=-5', from: 95, to: 99 },
    { range: 'bytes=90-1000', from: 90, to: 99 },
  ])('206 for $range', async ({ range, from, to }) => {
    const f = await withArtifact();
    const res = await get(f, { Range: range });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${from}-${to}/100`);
    expect(Buffer.compare(res.body as Buffer, payload.subarray(from, to + 1))).toBe(0);
  });

  it.each(['bytes=100-', 'bytes=200-300'])('416 for the unsatisfiable %s, with the error body and Content-Range */size', async (range) => {
    const f = await withArtifact();
    const res = await request(f.app).get(`/v1/artifacts/${sha(payload)}`).set('Range', range);
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */100');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error.code).toBe('invalid_range');
    expect(typeof res.body.error.message).toBe('string');
    // An error must not be cached for a year.
    expect(res.headers['cache-control'] ?? '').not.toMatch(/immutable/);
  });

  it('404 for an unknown artifact, 400 for a malformed hash', async () => {
    const f = await withArtifact();
    const missing = await request(f.app).get(`/v1/artifacts/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const bad = await request(f.app).get(`/v1/artifacts/${sha(payload).toUpperCase()}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
  });
});

describe('releases that name an artifact', () => {
  const publish = (f: AppFixture, artifact: { sha256: string; size: number }) =>
    request(f.app)
      .post('/v1/releases')
      .set(bearer(f.tokens['release-manager']))
      .send(signWith(releaseBody({ version: '1.4.3', artifact }), f.trust.releaseKeys));

  it('422 when the artifact was not uploaded, 201 once it was', async () => {
    const f = await makeApp();
    const refused = await publish(f, { sha256: sha(payload), size: 100 });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details[0].path).toBe('/signed/artifact');
    await upload(f, payload);
    expect((await publish(f, { sha256: sha(payload), size: 100 })).status).toBe(201);
  });

  it('422 when the manifest states another size', async () => {
    const f = await makeApp();
    await upload(f, payload);
    const res = await publish(f, { sha256: sha(payload), size: 99 });
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].path).toBe('/signed/artifact/size');
  });
});
