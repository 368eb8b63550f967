import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { parseCheckpoint } from '../../server/protocol/transparency/checkpoint.js';
import { cosign, cosignedAt } from '../../server/protocol/transparency/cosignature.js';
import { apiContract } from '../helpers/api-contract.js';
import { makeApp } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';
import { RELEASE_ID } from '../rollouts/scenario.js';

const witness = generatePrivateKey();
const W = { name: 'witness.example.org', publicHex: witness.keyval.public };
const lineFor = (note: string, time = 1_800_000_000, key = witness) => cosign(parseCheckpoint(note).body, W.name, ed25519Signer(key), key.keyval.public, time).trimEnd();

describe('witness cosignatures on checkpoints (C2SP tlog-cosignature/v1)', () => {
  it('accepts a configured witness\'s cosignature and serves it with the checkpoint and in poll offers (new ETag)', async () => {
    const f = await makeApp({ config: { logWitnesses: [W] } });
    await publish(f);
    const r = await createRollout(f, { releaseId: RELEASE_ID, failurePolicy: FAILURE_POLICY, stages: [{ cohort: 'all', basisPoints: 10000 }] });
    await act(f, r.id, 'start');
    const token = await enroll(f.app, f.tokens.enroller, 'dev-1');
    const before = await poll(f.app, 'dev-1', token);
    const cp = await request(f.app).get('/v1/log/checkpoint');
    const size = parseCheckpoint(cp.text).size;

    const res = await request(f.app).post('/v1/log/cosignatures').send({ size, cosignature: lineFor(cp.text) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // The answer is what the contract says (manifests/schema/api/responses/cosignature-accepted.schema.json).
    apiContract().check('POST', '/v1/log/cosignatures', res.status, res.headers['content-type'], res.body);
    expect(res.body).toEqual({ size, witness: W.name, time: 1_800_000_000 });
    const after = await request(f.app).get('/v1/log/checkpoint');
    expect(after.text).toBe(`${cp.text}${lineFor(cp.text)}\n`);
    expect(after.headers.etag).not.toBe(cp.headers.etag);
    expect(cosignedAt(parseCheckpoint(after.text), W)).toBe(1_800_000_000);

    const again = await poll(f.app, 'dev-1', token).set('If-None-Match', before.headers.etag as string);
    expect(again.status).toBe(200);
    expect((again.body as { updates: { log: { checkpoint: string } }[] }).updates[0]?.log.checkpoint).toBe(after.text);
    // A newer cosignature by the same witness replaces the older; an older one does not.
    await request(f.app).post('/v1/log/cosignatures').send({ size, cosignature: lineFor(cp.text, 1_800_000_100) }).expect(201);
    await request(f.app).post('/v1/log/cosignatures').send({ size, cosignature: lineFor(cp.text, 1_700_000_000) }).expect(201);
    expect(cosignedAt(parseCheckpoint((await request(f.app).get('/v1/log/checkpoint')).text), W)).toBe(1_800_000_100);
  });

  it('refuses unknown witnesses, bad signatures, other sizes and malformed bodies, storing nothing', async () => {
    const f = await makeApp({ config: { logWitnesses: [W] } });
    const cp = (await request(f.app).get('/v1/log/checkpoint')).text;
    const size = parseCheckpoint(cp).size;
    const cases: [unknown, number, string][] = [
      [{ size, cosignature: lineFor(cp).replace(W.name, 'stranger.example') }, 422, 'unprocessable'],
      [{ size, cosignature: lineFor(cp, 1_800_000_000, generatePrivateKey()) }, 422, 'signature_invalid'],
      [{ size: size - 1, cosignature: lineFor(cp) }, 422, 'signature_invalid'],
      [{ size: size + 1, cosignature: lineFor(cp) }, 400, 'bad_request'],
      [{ size, cosignature: 'not a signature line' }, 400, 'validation_failed'],
      [{ size, cosignature: lineFor(cp), extra: 1 }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await request(f.app).post('/v1/log/cosignatures').send(body as object);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body).toMatchObject({ error: { code } });
    }
    const plain = await request(f.app).post('/v1/log/cosignatures').set('Content-Type', 'text/plain').send(lineFor(cp));
    expect(plain.status).toBe(415);
    const huge = await request(f.app).post('/v1/log/cosignatures').send({ size, cosignature: 'x'.repeat(2_000_000) });
    expect(huge.status).toBe(413);
    expect((await request(f.app).get('/v1/log/checkpoint')).text).toBe(cp);
    expect((await makeApp()).ctx.config.logWitnesses).toEqual([]);
  });

  it('OTA_LOG_WITNESSES is parsed at start-up, and a bad entry stops it', () => {
    expect(loadConfig({ OTA_LOG_WITNESSES: `${W.name}=${W.publicHex}, other.example=${'ab'.repeat(32)}` }).logWitnesses).toEqual([W, { name: 'other.example', publicHex: 'ab'.repeat(32) }]);
    expect(() => loadConfig({ OTA_LOG_WITNESSES: `${W.name}=${W.publicHex},${W.name}=${W.publicHex}` })).toThrow(/names unique/);
    expect(() => loadConfig({ OTA_LOG_WITNESSES: 'w=zz' })).toThrow(/OTA_LOG_WITNESSES/);
  });

  it('limits submissions per address (429 with Retry-After)', async () => {
    const f = await makeApp({ config: { logWitnesses: [W] } });
    const cp = (await request(f.app).get('/v1/log/checkpoint')).text;
    const size = parseCheckpoint(cp).size;
    let last = 0;
    for (let i = 0; i < 61; i++) last = (await request(f.app).post('/v1/log/cosignatures').send({ size, cosignature: lineFor(cp, 1_800_000_000 + i) })).status;
    expect(last).toBe(429);
  });
});
