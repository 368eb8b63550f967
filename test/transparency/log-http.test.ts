import { createHash, createPublicKey, verify } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/protocol/crypto/canonical.js';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';
import { advanceClock, RELEASE_ID } from '../rollouts/scenario.js';
import { refLeaf, refMth, refVerifyConsistency, refVerifyInclusion } from './rfc9162-reference.js';

/** The note split by hand, per protocol §8 (no server parsing code). */
function readNote(note: string): { origin: string; size: number; root: Buffer; body: string; keyHash: Buffer; sig: Buffer; line: string } {
  const [body, sigPart] = note.split('\n\n') as [string, string];
  const [origin, size, root] = body.split('\n') as [string, string, string];
  const line = sigPart.replace(/\n$/, '');
  const blob = Buffer.from(line.split(' ')[2] as string, 'base64');
  return { origin, size: Number(size), root: Buffer.from(root, 'base64'), body: `${body}\n`, keyHash: blob.subarray(0, 4), sig: blob.subarray(4), line };
}

async function checkpointOf(f: AppFixture) {
  const res = await request(f.app).get('/v1/log/checkpoint');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  return readNote(res.text);
}

async function entriesOf(f: AppFixture, start: number, end: number): Promise<unknown[]> {
  const res = await request(f.app).get('/v1/log/entries').query({ start: String(start), end: String(end) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { entries: unknown[] }).entries;
}

const bytesOf = (envelope: unknown): Buffer => Buffer.from(canonicalJson(envelope), 'utf8');
const types = (entries: unknown[]) => entries.map((e) => (e as { signed: { type: string } }).signed.type);

async function consistent(f: AppFixture, from: { size: number; root: Buffer }, to: { size: number; root: Buffer }): Promise<boolean> {
  const res = await request(f.app).get('/v1/log/proof/consistency').query({ from: String(from.size), to: String(to.size) });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ from: from.size, to: to.size });
  return refVerifyConsistency(from.size, to.size, from.root, to.root, (res.body as { hashes: string[] }).hashes.map((h) => Buffer.from(h, 'hex')));
}

describe('transparency log (protocol §8)', () => {
  it('starts with the root and policy; the checkpoint is a C2SP note signed by the online key (checked with node:crypto)', async () => {
    const f = await makeApp();
    const cp = await checkpointOf(f);
    expect(cp.origin).toBe('ota.local/log');
    expect(cp.size).toBe(2);
    expect(cp.line.startsWith('\u2014 ota.local/log ')).toBe(true);
    const entries = await entriesOf(f, 0, 2);
    expect(types(entries)).toEqual(['root', 'settings-policy']);
    expect(cp.root.equals(refMth(entries.map(bytesOf)))).toBe(true);

    const pub = Buffer.from(f.trust.onlineKey.keyval.public, 'hex');
    const keyHash = createHash('sha256').update(Buffer.concat([Buffer.from('ota.local/log\n\x01', 'latin1'), pub])).digest().subarray(0, 4);
    expect(cp.keyHash.equals(keyHash)).toBe(true);
    const spki = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(cp.body, 'utf8'), spki, cp.sig)).toBe(true);
    expect(verify(null, Buffer.from(cp.body.replace('\n2\n', '\n3\n'), 'utf8'), spki, cp.sig)).toBe(false);
  });

  it('honours OTA_LOG_ORIGIN and refuses an origin a note cannot carry', async () => {
    const f = await makeApp({ config: { logOrigin: 'example.com/ota' } });
    expect((await checkpointOf(f)).origin).toBe('example.com/ota');
    const { loadConfig } = await import('../../server/config.js');
    expect(() => loadConfig({ OTA_LOG_ORIGIN: 'two words' })).toThrow(/OTA_LOG_ORIGIN/);
  });

  it('publishing appends exactly one entry (the envelope as served); republishing appends none', async () => {
    const f = await makeApp();
    const before = await checkpointOf(f);
    await publish(f);
    const after = await checkpointOf(f);
    expect(after.size).toBe(before.size + 1);
    const [entry] = await entriesOf(f, 2, 3);
    const served = await request(f.app).get(`/v1/releases/${RELEASE_ID}`).set(bearer(f.tokens.viewer));
    expect(entry).toEqual((served.body as { release: unknown }).release);
    const incl = await request(f.app).get('/v1/log/proof/inclusion').query({ index: '2', size: String(after.size) });
    expect(incl.body).toMatchObject({ index: 2, treeSize: 3 });
    expect(refVerifyInclusion(2, 3, refLeaf(bytesOf(entry)), (incl.body as { hashes: string[] }).hashes.map((h) => Buffer.from(h, 'hex')), after.root)).toBe(true);
    expect(await consistent(f, before, after)).toBe(true);
  });

  it('a three-stage rollout logs its statements at start and at each advance, re-signing logs new ones, every checkpoint consistent', async () => {
    const f = await makeApp();
    await publish(f);
    const r = await createRollout(f, { releaseId: RELEASE_ID, failurePolicy: FAILURE_POLICY, stages: [{ cohort: 'all', basisPoints: 100 }, { cohort: 'all', basisPoints: 1000 }, { cohort: 'all', basisPoints: 10000 }] });
    const c0 = await checkpointOf(f);
    expect(c0.size).toBe(3);
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const c1 = await checkpointOf(f);
    expect(c1.size).toBe(4);
    expect((await act(f, r.id, 'advance')).status).toBe(200);
    expect((await act(f, r.id, 'advance')).status).toBe(200);
    const c2 = await checkpointOf(f);
    expect(c2.size).toBe(4 + 2 + 3);
    const statements = (await entriesOf(f, 3, c2.size)) as { signed: { type: string; stage: number; version: number } }[];
    expect(statements.map((s) => [s.signed.type, s.signed.stage, s.signed.version])).toEqual([
      ['rollout', 0, 1], ['rollout', 0, 2], ['rollout', 1, 2], ['rollout', 0, 3], ['rollout', 1, 3], ['rollout', 2, 3],
    ]);
    advanceClock(f, 3600);
    expect((await f.ctx.rolloutService.resignExpiring())).toBe(1);
    const c3 = await checkpointOf(f);
    expect(c3.size).toBe(c2.size + 3);
    for (const [a, b] of [[c0, c1], [c1, c2], [c2, c3], [c0, c3]] as const) expect(await consistent(f, a, b)).toBe(true);
    // A forged "after" (the same size, another root) is not consistent.
    expect(await consistent(f, c1, { size: c3.size, root: c2.root })).toBe(false);
    // The whole log recomputed from its entries gives the signed root.
    expect(c3.root.equals(refMth((await entriesOf(f, 0, c3.size)).map(bytesOf)))).toBe(true);
  });

  it('every poll offer carries the checkpoint and both inclusion proofs; a new checkpoint changes the ETag', async () => {
    const f = await makeApp();
    await publish(f);
    const r = await createRollout(f, { releaseId: RELEASE_ID, failurePolicy: FAILURE_POLICY, stages: [{ cohort: 'all', basisPoints: 10000 }] });
    await act(f, r.id, 'start');
    const token = await enroll(f.app, f.tokens.enroller, 'dev-1');
    const first = await poll(f.app, 'dev-1', token);
    type Offer = { release: unknown; rollout: unknown; log: { checkpoint: string; releaseIndex: number; releaseProof: string[]; rolloutIndex: number; rolloutProof: string[] } };
    const [offer] = (first.body as { updates: Offer[] }).updates as [Offer];
    const cp = readNote(offer.log.checkpoint);
    expect(offer.log.checkpoint).toBe((await request(f.app).get('/v1/log/checkpoint')).text);
    const hashes = (h: string[]) => h.map((x) => Buffer.from(x, 'hex'));
    expect(refVerifyInclusion(offer.log.releaseIndex, cp.size, refLeaf(bytesOf(offer.release)), hashes(offer.log.releaseProof), cp.root)).toBe(true);
    expect(refVerifyInclusion(offer.log.rolloutIndex, cp.size, refLeaf(bytesOf(offer.rollout)), hashes(offer.log.rolloutProof), cp.root)).toBe(true);
    expect(refVerifyInclusion(offer.log.rolloutIndex, cp.size, refLeaf(bytesOf(offer.release)), hashes(offer.log.rolloutProof), cp.root)).toBe(false);

    expect((await poll(f.app, 'dev-1', token).set('If-None-Match', first.headers.etag as string)).status).toBe(304);
    await publish(f, { id: 'another-release' });
    const second = await poll(f.app, 'dev-1', token).set('If-None-Match', first.headers.etag as string);
    expect(second.status).toBe(200);
    expect(readNote((second.body as { updates: Offer[] }).updates[0]?.log.checkpoint as string).size).toBe(cp.size + 1);
  });

  it('bad parameters get 400 with the §7 error body; answers for fixed sizes are cacheable', async () => {
    const f = await makeApp();
    const bad = [
      ['/v1/log/entries', { start: '0', end: '3' }], ['/v1/log/entries', { start: '1', end: '1' }], ['/v1/log/entries', { start: '-1', end: '1' }],
      ['/v1/log/entries', { start: 'x', end: '1' }], ['/v1/log/entries', { end: '1' }], ['/v1/log/entries', { start: '01', end: '2' }],
      ['/v1/log/proof/inclusion', { index: '2', size: '2' }], ['/v1/log/proof/inclusion', { index: '0', size: '3' }],
      ['/v1/log/proof/consistency', { from: '0', to: '2' }], ['/v1/log/proof/consistency', { from: '2', to: '1' }],
      ['/v1/log/proof/consistency', { from: '1', to: '99999999999999999999' }],
    ] as const;
    for (const [path, query] of bad) {
      const res = await request(f.app).get(path).query(query);
      expect(res.status, `${path} ${JSON.stringify(query)}`).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'bad_request', message: expect.any(String) } });
    }
    expect((await request(f.app).get('/v1/log/entries?start=0&start=1&end=2')).status).toBe(400);
    const ok = await request(f.app).get('/v1/log/proof/consistency').query({ from: '1', to: '2' });
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toMatch(/immutable/);
    const many = await makeApp();
    for (let i = 0; i < 3; i++) await publish(many, { id: `r-${i}` });
    expect((await request(many.app).get('/v1/log/entries').query({ start: '0', end: '1001' })).status).toBe(400);
  });

  it('GET /v1/log/entries stays cheap whatever the log holds: a byte-capped prefix, streamed, limited per address (issue 20 defect 1)', async () => {
    const f = await makeApp({ config: { logEntriesMaxBytes: 8 * 1024, logEntriesPerMinute: 20 } });
    // Ten schema-legal releases of about 8 KB each after the root and the policy.
    for (let i = 0; i < 10; i++) await publish(f, { id: `big-${i}`, notes: `${i}`.padEnd(8000, 'n') });
    const size = (await checkpointOf(f)).size;
    expect(size).toBe(12);
    const got: unknown[] = [];
    for (let start = 0, calls = 0; start < size; calls++) {
      expect(calls).toBeLessThan(size);
      const res = await request(f.app).get('/v1/log/entries').query({ start: String(start), end: String(size) });
      expect(res.status).toBe(200);
      // Streamed as it is read (chunked), never built whole and sent with a length.
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.headers['content-length']).toBeUndefined();
      expect(res.headers['cache-control']).toMatch(/immutable/);
      const entries = (res.body as { entries: unknown[] }).entries;
      expect(entries.length).toBeGreaterThanOrEqual(1);
      // Within the cap, unless a single entry is larger than the cap on its own.
      if (entries.length > 1) expect(entries.reduce<number>((n, e) => n + bytesOf(e).length, 0)).toBeLessThanOrEqual(8 * 1024);
      got.push(...entries);
      start += entries.length;
    }
    // The prefixes, joined, are the whole log in order.
    expect(got).toHaveLength(size);
    expect(types(got)).toEqual(['root', 'settings-policy', ...Array.from({ length: 10 }, () => 'release')]);
    // Twenty calls a minute from this address (the paging above took twelve); then refused with a time to come back.
    let refused: request.Response | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await request(f.app).get('/v1/log/entries').query({ start: '0', end: '1' });
      if (res.status !== 200) refused = res;
    }
    expect(refused?.status).toBe(429);
    expect(refused?.body).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
  });
});
