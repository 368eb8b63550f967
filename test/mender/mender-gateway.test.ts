import { createHash, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { deviceIdOf } from '../../server/devices/admission/device-identity.js';
import { apiContract } from '../helpers/api-contract.js';
import { bearer, makeApp, releaseBody, signWith, tempDir, type AppFixture } from '../helpers/fixtures.js';
import { artifactKey, authRequest, deviceKey, menderArtifact, type KeyKind } from './mender-helpers.js';

const AUTH = '/api/devices/v1/authentication/auth_requests';
const NEXT = '/api/devices/v2/deployments/device/deployments/next';
const INVENTORY = '/api/devices/v1/inventory/device/attributes';
const deployment = (id: string, what: 'status' | 'log') => `/api/devices/v1/deployments/device/deployments/${id}/${what}`;

/** Uploads a .mender artifact and publishes a release for it; returns the artifact bytes. */
async function publishMender(f: AppFixture, o: { id: string; version: string; model?: string; headerName?: string; headerType?: string; issuedAt?: string }): Promise<{ sha256: string; bytes: Buffer; status: number; body: { error?: { message: string } } }> {
  const dir = tempDir('ota-mender-art-');
  const key = artifactKey(dir, 'signing');
  const bytes = menderArtifact(dir, { name: o.headerName ?? o.version, deviceType: o.headerType ?? o.model ?? 'acc-board', key: key.key, payload: Buffer.from(`payload of ${o.id}\n`), out: join(dir, 'x.mender') });
  const up = await request(f.app).put('/v1/artifacts').set(bearer(f.tokens['release-manager'])).set('Content-Type', 'application/octet-stream').send(bytes);
  expect(up.status).toBe(201);
  expect(up.body.mender).toEqual({ artifactName: o.headerName ?? o.version, deviceTypes: [o.headerType ?? o.model ?? 'acc-board'] });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const signed = releaseBody({ id: o.id, models: [o.model ?? 'acc-board'], appliesTo: '*', version: o.version, artifact: { sha256, size: bytes.length }, settings: [], issuedAt: o.issuedAt ?? '2026-11-24T10:00:00Z' });
  const pub = await request(f.app).post('/v1/releases').set(bearer(f.tokens['release-manager'])).send(signWith(signed, f.trust.releaseKeys));
  return { sha256, bytes, status: pub.status, body: pub.body as { error?: { message: string } } };
}

async function startRollout(f: AppFixture, id: string, releaseId: string, policy = { maxFailureBasisPoints: 5000, minTerminalReports: 2, reportTimeoutSeconds: 3600 }): Promise<void> {
  const rm = bearer(f.tokens['release-manager']);
  expect((await request(f.app).post('/v1/rollouts').set(rm).send({ id, releaseId, stages: [{ cohort: 'all', basisPoints: 10000, minDwellSeconds: 0, autoAdvance: false }], failurePolicy: policy })).status).toBe(201);
  expect((await request(f.app).post(`/v1/rollouts/${id}/start`).set(rm).send({})).status).toBe(200);
}

/** A Mender client speaking to the in-process app: admission, inventory, next, status, log. */
function client(f: AppFixture, mac: string, kind: KeyKind = 'ec') {
  const key = deviceKey(kind);
  const idData = { mac };
  let token = '';
  return {
    key,
    idData,
    deviceId: deviceIdOf(idData),
    async auth(): Promise<request.Response> {
      const { body, signature } = authRequest(idData, key);
      const res = await request(f.app).post(AUTH).set('Authorization', 'Bearer ').set('Content-Type', 'application/json').set('X-MEN-Signature', signature).send(body.toString());
      if (res.status === 200) token = res.text;
      return res;
    },
    inventory: (attrs: { name: string; value: string }[]) => request(f.app).put(INVENTORY).set(bearer(token)).send(attrs),
    /** Preauthorized, admitted and described (an acc-board with artifact 1.0.0): ready to ask for next. */
    async admit(): Promise<void> {
      await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(idData), pubkey: key.pem });
      expect((await this.auth()).status).toBe(200);
      expect((await this.inventory([{ name: 'device_type', value: 'acc-board' }, { name: 'artifact_name', value: '1.0.0' }])).status).toBe(200);
    },
    next: (artifactName: string) => request(f.app).post(NEXT).set(bearer(token)).send({ device_provides: { device_type: 'acc-board', artifact_name: artifactName }, update_control_map: true }),
    status: (id: string, status: string) => request(f.app).put(deployment(id, 'status')).set(bearer(token)).send({ status }),
    log: (id: string, messages: { level: string; message: string; timestamp: string }[]) => request(f.app).put(deployment(id, 'log')).set(bearer(token)).send({ messages }),
    token: () => token,
  };
}

const rm = (f: AppFixture) => bearer(f.tokens['release-manager']);

describe('Mender device API (protocol §12)', () => {
  it('admission: pending until accepted (401, listed), then a bare text token; a second request gets a fresh one and the first stays valid', async () => {
    const f = await makeApp();
    const c = client(f, '52:54:00:00:00:01');
    const first = await c.auth();
    expect(first.status, first.text).toBe(401);
    expect(first.body.error.code).toBe('unauthorized');
    // A pending client asks again and again: neither that nor the lockout limit refuses it.
    for (let i = 0; i < 3; i++) expect((await c.auth()).status).toBe(401);
    const pending = await request(f.app).get('/v1/devices?admission=pending').set(bearer(f.tokens.viewer));
    expect(pending.status).toBe(200);
    // The answer is what the contract says (a page of admission requests, one of GET /v1/devices' two shapes).
    apiContract().check('GET', '/v1/devices', 200, pending.headers['content-type'], pending.body);
    expect(pending.body.devices).toEqual([expect.objectContaining({ deviceId: c.deviceId, admission: 'pending', idData: { mac: '52:54:00:00:00:01' } })]);
    expect((await request(f.app).post(`/v1/devices/${c.deviceId}/accept`).set(bearer(f.tokens.viewer)).send({})).status).toBe(403);
    const accepted = await request(f.app).post(`/v1/devices/${c.deviceId}/accept`).set(rm(f)).send({});
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ deviceId: c.deviceId, admission: 'accepted' });

    const ok = await c.auth();
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toMatch(/^mdr_[A-Za-z0-9_-]+$/);
    const firstToken = ok.text;
    expect((await c.auth()).status).toBe(200);
    expect(c.token()).not.toBe(firstToken);
    // The earlier token still works (protocol §12: valid for at least 10 minutes).
    const withFirst = await request(f.app).put(INVENTORY).set(bearer(firstToken)).send([{ name: 'device_type', value: 'acc-board' }]);
    expect(withFirst.status).toBe(200);
    // ...and stops working after the grace period.
    f.clock.now = new Date(f.clock.now.getTime() + 11 * 60 * 1000);
    expect((await request(f.app).put(INVENTORY).set(bearer(firstToken)).send([{ name: 'device_type', value: 'acc-board' }])).status).toBe(401);
    expect((await c.inventory([{ name: 'device_type', value: 'acc-board' }])).status).toBe(200);

    // The enrolled device carries its inventory: device_type is its model, artifact_name its version.
    expect((await c.inventory([{ name: 'device_type', value: 'acc-board' }, { name: 'artifact_name', value: '1.0.0' }, { name: 'mender_client_version', value: '3.4.0' }])).status).toBe(200);
    const dev = await request(f.app).get(`/v1/devices/${c.deviceId}`).set(bearer(f.tokens.viewer));
    expect(dev.body).toMatchObject({ deviceId: c.deviceId, model: 'acc-board', version: '1.0.0', attributes: { mender_client_version: '3.4.0' } });
    const audit = await request(f.app).get('/v1/audit').set(bearer(f.tokens.viewer));
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain('device.accept');
  });

  it('a decommissioned device is refused over the Mender API at once: its tokens are revoked and admission does not bring it back', async () => {
    const f = await makeApp();
    const c = client(f, '52:54:00:00:0d:01');
    expect((await c.auth()).status).toBe(401);
    expect((await request(f.app).post(`/v1/devices/${c.deviceId}/accept`).set(rm(f)).send({})).status).toBe(200);
    expect((await c.auth()).status).toBe(200);
    expect((await c.inventory([{ name: 'device_type', value: 'acc-board' }])).status).toBe(200);
    expect((await request(f.app).delete(`/v1/devices/${c.deviceId}`).set(rm(f))).status).toBe(204);
    expect((await c.inventory([{ name: 'device_type', value: 'acc-board' }])).status).toBe(401);
    expect((await c.next('1.0.0')).status).toBe(401);
    // Its accepted key asks again: still refused (protocol §7: only an enrollment credential brings it back).
    expect((await c.auth()).status).toBe(401);
  });

  it('RSA, ECDSA P-256 and Ed25519 keys verify; a forged or missing signature is 401 and stores nothing; a preauthorized identity is admitted at once', async () => {
    const f = await makeApp();
    for (const [i, kind] of (['rsa', 'ec', 'ed25519'] as const).entries()) {
      const c = client(f, `52:54:00:00:01:0${i}`, kind);
      const { body } = authRequest(c.idData, c.key);
      // Signed by another key: 401, nothing pending.
      const forged = authRequest(c.idData, deviceKey(kind)).signature;
      const bad = await request(f.app).post(AUTH).set('Content-Type', 'application/json').set('X-MEN-Signature', forged).send(body.toString());
      expect(bad.status).toBe(401);
      const missing = await request(f.app).post(AUTH).set('Content-Type', 'application/json').send(body.toString());
      expect(missing.status).toBe(401);
      expect((await request(f.app).get('/v1/devices?admission=pending').set(bearer(f.tokens.viewer))).body.devices).toEqual([]);
      const pre = await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem });
      expect(pre.status).toBe(201);
      expect(pre.body).toMatchObject({ deviceId: c.deviceId, admission: 'preauthorized' });
      const admitted = await c.auth();
      expect(admitted.status, kind).toBe(200);
    }
    // The lockout never counted the forged requests: a fresh identity is still pending, not rate limited.
    expect((await client(f, '52:54:00:00:01:09').auth()).status).toBe(401);
    // Bad input: 400 with the §7 body.
    const junk = await request(f.app).post(AUTH).set('Content-Type', 'application/json').send({ id_data: '{"mac":', pubkey: 'x' });
    expect(junk.status).toBe(400);
    expect(junk.body.error.code).toBe('validation_failed');
  });

  it('identity text that is not storable Unicode, and RSA keys with a huge exponent, are 400 before any signature is checked; nothing is stored', async () => {
    const f = await makeApp();
    const pem = deviceKey('ec').pem;
    // The id_data string is JSON inside JSON: its escapes reach JSON.parse as a lone surrogate and a NUL.
    for (const idData of ['{"mac":"\\ud800"}', '{"\\udfff":"x"}', '{"mac":["a","\\ud83d"]}', '{"mac":"a\\u0000b"}']) {
      const res = await request(f.app).post(AUTH).set('Content-Type', 'application/json').send({ id_data: idData, pubkey: pem });
      expect(res.status, idData).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      // The refusal itself holds neither: it is storable, writable JSON for any client.
      expect(res.text).not.toMatch(/\\u0000|\\ud[89ab]/i);
      const pre = await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData, pubkey: pem });
      expect(pre.status, idData).toBe(400);
      expect(pre.body.error.code).toBe('validation_failed');
    }
    // A pair of surrogates is one character: accepted.
    expect((await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify({ mac: 'device-\u{1f600}' }), pubkey: pem })).status).toBe(201);
    const huge = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x8000_0001 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const refused = await request(f.app).post(AUTH).set('Content-Type', 'application/json').send({ id_data: JSON.stringify({ mac: '52:54:00:00:09:01' }), pubkey: huge });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].message).toMatch(/exponent/);
    expect((await request(f.app).get('/v1/devices?admission=pending').set(bearer(f.tokens.viewer))).body.devices).toEqual([]);
  });

  it('a changed key for an accepted identity is pending again (audited); the old key keeps working until the new one is accepted', async () => {
    const f = await makeApp();
    const old = client(f, '52:54:00:00:02:01');
    await old.auth();
    await request(f.app).post(`/v1/devices/${old.deviceId}/accept`).set(rm(f)).send({});
    expect((await old.auth()).status).toBe(200);
    const renewed = client(f, '52:54:00:00:02:01');
    expect(renewed.deviceId).toBe(old.deviceId);
    expect((await renewed.auth()).status).toBe(401);
    const audit = await request(f.app).get('/v1/audit').set(bearer(f.tokens.viewer));
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain('device.key-changed');
    expect((await old.inventory([{ name: 'device_type', value: 'acc-board' }])).status).toBe(200);
    await request(f.app).post(`/v1/devices/${old.deviceId}/accept`).set(rm(f)).send({});
    expect((await renewed.auth()).status).toBe(200);
    // Accepting the new key retired the old one and its tokens.
    expect((await old.inventory([{ name: 'device_type', value: 'acc-board' }])).status).toBe(401);
    expect((await old.auth()).status).toBe(401);
  });

  it('offers a .mender release through a signed link (Content-Length, Range; 403 altered or expired); statuses map and repeat as 204; failure keeps the log error line; halt → 409 and 204', async () => {
    const f = await makeApp();
    const good = await publishMender(f, { id: 'acc-2-0-0', version: '2.0.0' });
    expect(good.status).toBe(201);
    await startRollout(f, 'acc-rollout', 'acc-2-0-0');
    const devices = [client(f, '52:54:00:00:03:01'), client(f, '52:54:00:00:03:02'), client(f, '52:54:00:00:03:03')];
    for (const c of devices) await c.admit();
    const [a, b, c] = devices as [ReturnType<typeof client>, ReturnType<typeof client>, ReturnType<typeof client>];
    const next = await a.next('1.0.0');
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ id: 'acc-rollout', artifact: { artifact_name: '2.0.0', device_types_compatible: ['acc-board'], source: { expire: expect.stringMatching(/Z$/) } } });
    const uri = new URL(next.body.artifact.source.uri as string);
    expect(uri.protocol).toBe('http:');
    const link = `${uri.pathname}${uri.search}`;
    const whole = await request(f.app).get(link).buffer(true).parse((res, done) => { const chunks: Buffer[] = []; res.on('data', (d: Buffer) => chunks.push(d)); res.on('end', () => done(null, Buffer.concat(chunks))); });
    expect(whole.status).toBe(200);
    expect(Number(whole.headers['content-length'])).toBe(good.bytes.length);
    expect(Buffer.compare(whole.body as Buffer, good.bytes)).toBe(0);
    const part = await request(f.app).get(link).set('Range', 'bytes=10-19');
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${good.bytes.length}`);
    // Altered: another artifact, another expiry, a changed signature — 403.
    // The signature's first character changed (to another one whatever it was), and its last changed to a
    // spelling that decodes to the same bytes (the low two bits of the 43rd character are unused).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const otherFirst = link.replace(/signature=(.)/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    const sameBytes = link.replace(/(.)$/, (_m, c: string) => alphabet[alphabet.indexOf(c) ^ 1] as string);
    const altered = [link.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 1}`), otherFirst, sameBytes, link.replace(good.sha256, 'a'.repeat(64))];
    for (const l of altered) expect((await request(f.app).get(l)).status, l).toBe(403);
    f.clock.now = new Date(f.clock.now.getTime() + 901 * 1000);
    const expired = await request(f.app).get(link);
    expect(expired.status).toBe(403);
    expect(expired.body.error.message).toMatch(/expired/);
    f.clock.now = new Date(f.clock.now.getTime() - 901 * 1000);

    // Success path: downloading ×3, installing ×2, success — each 204, repeats store nothing.
    for (const s of ['downloading', 'downloading', 'downloading', 'installing', 'rebooting', 'success']) expect((await a.status('acc-rollout', s)).status, s).toBe(204);
    const reports = async (id: string) => (await request(f.app).get(`/v1/devices/${id}`).set(bearer(f.tokens.viewer))).body;
    expect((await reports(a.deviceId)).rollouts[0]).toMatchObject({ rolloutId: 'acc-rollout', state: 'applied' });
    expect((await f.ctx.sql.value<number>('SELECT COUNT(*) FROM reports WHERE device_id = ?', [a.deviceId]))).toBe(3);
    // A closed deployment is not offered again; the device now runs 2.0.0.
    expect((await a.next('2.0.0')).status).toBe(204);

    // Already installed counts as applied.
    expect((await b.next('2.0.0')).status).toBe(200);
    expect((await b.status('acc-rollout', 'already-installed')).status).toBe(204);
    expect((await reports(b.deviceId)).rollouts[0]).toMatchObject({ state: 'applied' });

    // Failure: downloading ×2, failure, then the log; the error is the log's error-level line.
    expect((await c.next('1.0.0')).status).toBe(200);
    for (const s of ['downloading', 'downloading', 'failure']) expect((await c.status('acc-rollout', s)).status).toBe(204);
    const log = await c.log('acc-rollout', [
      { level: 'info', message: 'Running Mender client version: 3.4.0', timestamp: '2026-11-24T12:00:00Z' },
      { level: 'info', message: 'State transition: update-fetch [Download_Enter] -> update-store [Download_Enter]', timestamp: '2026-11-24T12:00:01Z' },
      { level: 'error', message: 'Artifact install failed: Payload: can not install Payload: readHeaderV3: reader: invalid signature: signer: verification failed', timestamp: '2026-11-24T12:00:02Z' },
      { level: 'info', message: 'State transition: update-store [Download_Enter] -> cleanup [Error]', timestamp: '2026-11-24T12:00:03Z' },
    ]);
    expect(log.status).toBe(204);
    const failed = (await reports(c.deviceId)).rollouts[0];
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'mender_failure' } });
    expect(failed.error.message).toMatch(/invalid signature: signer: verification failed/);
    expect(failed.error.message).not.toMatch(/State transition/);
    const status = await request(f.app).get('/v1/rollouts/acc-rollout/status').set(bearer(f.tokens.viewer));
    expect(status.body.counts).toMatchObject({ applied: 2, failed: 1 });

    // Unknown statuses and bad ids are 400; another deployment 404.
    expect((await a.status('acc-rollout', 'exploded')).status).toBe(400);
    expect((await a.status('No_Such', 'success')).status).toBe(400);
    expect((await a.status('no-such', 'success')).status).toBe(404);

    // Halt: next is 204 for everyone; work in progress is told to abort (409) and counted declined.
    const d = client(f, '52:54:00:00:03:04');
    await d.admit();
    expect((await d.next('1.0.0')).status).toBe(200);
    expect((await d.status('acc-rollout', 'downloading')).status).toBe(204);
    expect((await request(f.app).post('/v1/rollouts/acc-rollout/halt').set(rm(f)).send({ reason: 'test halt' })).status).toBe(200);
    expect((await d.next('1.0.0')).status).toBe(204);
    const aborted = await d.status('acc-rollout', 'installing');
    expect(aborted.status).toBe(409);
    expect((await reports(d.deviceId)).rollouts[0]).toMatchObject({ state: 'declined', error: { code: 'cancelled' } });
    // success and failure are always recorded.
    expect((await d.status('acc-rollout', 'failure')).status).toBe(204);
    expect((await reports(d.deviceId)).rollouts[0]).toMatchObject({ state: 'failed' });
  });

  it('a withdrawn release stops Mender clients as a halt does: next 204, work in progress 409 and counted declined; success still recorded', async () => {
    const f = await makeApp();
    expect((await publishMender(f, { id: 'acc-3-0-0', version: '3.0.0' })).status).toBe(201);
    await startRollout(f, 'acc-withdrawn', 'acc-3-0-0');
    const [d, e] = [client(f, '52:54:00:00:07:01'), client(f, '52:54:00:00:07:02')];
    for (const c of [d, e]) {
      await c.admit();
      expect((await c.next('1.0.0')).status).toBe(200);
      expect((await c.status('acc-withdrawn', 'downloading')).status).toBe(204);
    }
    expect((await request(f.app).post('/v1/releases/acc-3-0-0/withdraw').set(rm(f)).send({ reason: 'bricks the bootloader' })).status).toBe(200);
    expect((await d.next('1.0.0')).status).toBe(204);
    const aborted = await d.status('acc-withdrawn', 'installing');
    expect(aborted.status).toBe(409);
    expect(aborted.body.error.message).toBe('deployment acc-withdrawn was aborted: release acc-3-0-0 was withdrawn');
    const reportsOf = async (id: string) => (await request(f.app).get(`/v1/devices/${id}`).set(bearer(f.tokens.viewer))).body.rollouts[0];
    expect(await reportsOf(d.deviceId)).toMatchObject({ state: 'declined', error: { code: 'cancelled', message: 'release acc-3-0-0 was withdrawn; the client was told to abort' } });
    // A second in-progress status is refused again and records nothing more.
    expect((await d.status('acc-withdrawn', 'installing')).status).toBe(409);
    expect(await reportsOf(d.deviceId)).toMatchObject({ state: 'declined' });
    // A client that finished anyway says so, and that is recorded.
    expect((await e.status('acc-withdrawn', 'success')).status).toBe(204);
    expect(await reportsOf(e.deviceId)).toMatchObject({ state: 'applied' });
  });

  it('the v1 next (query) refuses a malformed percent-encoding with 400 and keeps the device\'s model', async () => {
    const f = await makeApp();
    const d = client(f, '52:54:00:00:08:01');
    await d.admit();
    const v1 = '/api/devices/v1/deployments/device/deployments/next';
    expect((await request(f.app).get(`${v1}?device_type=acc-board&artifact_name=1.0.0`).set(bearer(d.token()))).status).toBe(204);
    for (const q of ['device_type=%E0%A4%A', 'device_type=acc-board&artifact_name=%ZZ', 'device_type=%']) {
      const res = await request(f.app).get(`${v1}?${q}`).set(bearer(d.token()));
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    expect((await request(f.app).get(`/v1/devices/${d.deviceId}`).set(bearer(f.tokens.viewer))).body.model).toBe('acc-board');
  });

  it('refuses at publish a release its .mender header contradicts (name, device types); a non-.mender artifact is never offered', async () => {
    const f = await makeApp();
    const wrongName = await publishMender(f, { id: 'acc-wrong-name', version: '2.0.0', headerName: '2.0.1' });
    expect(wrongName.status).toBe(422);
    expect(wrongName.body.error?.message).toMatch(/named 2\.0\.1/);
    const wrongType = await publishMender(f, { id: 'acc-wrong-type', version: '2.0.0', model: 'acc-board', headerType: 'other-board' });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.error?.message).toMatch(/do not include acc-board/);

    // A raw image (not .mender) for the same model: published, offered natively, never to a Mender client.
    const image = Buffer.from('raw image bytes\n');
    const up = await request(f.app).put('/v1/artifacts').set(rm(f)).set('Content-Type', 'application/octet-stream').send(image);
    expect(up.body.mender).toBeUndefined();
    const signed = releaseBody({ id: 'acc-raw', models: ['acc-board'], appliesTo: '*', version: '3.0.0', artifact: { sha256: up.body.sha256 as string, size: image.length }, settings: [] });
    expect((await request(f.app).post('/v1/releases').set(rm(f)).send(signWith(signed, f.trust.releaseKeys))).status).toBe(201);
    await startRollout(f, 'raw-rollout', 'acc-raw');
    const c = client(f, '52:54:00:00:04:01');
    await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem });
    await c.auth();
    await c.inventory([{ name: 'device_type', value: 'acc-board' }, { name: 'artifact_name', value: '1.0.0' }]);
    expect((await c.next('1.0.0')).status).toBe(204);
    // Without a token: 401.
    expect((await request(f.app).post(NEXT).send({ device_provides: {} })).status).toBe(401);
  });
});

describe('Mender and maintenance windows (protocol §7, §12)', () => {
  it('outside the stage window next answers 204 (a Mender client cannot be told to wait); once it opens, the deployment', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await publishMender(f, { id: 'acc-w', version: '2.0.0' });
    const rm = bearer(f.tokens['release-manager']);
    const window = { start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' };
    expect((await request(f.app).post('/v1/rollouts').set(rm).send({ id: 'w1', releaseId: 'acc-w', stages: [{ cohort: 'all', basisPoints: 10000, window }], failurePolicy: { maxFailureBasisPoints: 5000, minTerminalReports: 2, reportTimeoutSeconds: 3600 } })).status).toBe(201);
    expect((await request(f.app).post('/v1/rollouts/w1/start').set(rm).send({})).status).toBe(200);
    const c = client(f, '52:54:00:00:0w:01');
    expect((await request(f.app).post('/v1/preauthorizations').set(rm).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem })).status).toBe(201);
    expect((await c.auth()).status).toBe(200);
    expect((await c.inventory([{ name: 'device_type', value: 'acc-board' }, { name: 'artifact_name', value: '1.0.0' }])).status).toBe(200);
    expect((await c.next('1.0.0')).status).toBe(204);
    f.clock.now = new Date('2026-11-25T01:30:00Z');
    const open = await c.next('1.0.0');
    expect(open.status).toBe(200);
    expect(open.body.id).toBe('w1');
  });
});

describe('Mender artifact links are shared within a minute', () => {
  it('two clients polling in the same minute get the same link, valid at least the configured time, on a whole minute', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:07Z') });
    await publishMender(f, { id: 'acc-l', version: '2.0.0' });
    await startRollout(f, 'l1', 'acc-l');
    const uris: string[] = [];
    for (const mac of ['52:54:00:00:0l:01', '52:54:00:00:0l:02']) {
      const c = client(f, mac);
      expect((await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem })).status).toBe(201);
      expect((await c.auth()).status).toBe(200);
      const next = await c.next('1.0.0');
      expect(next.status).toBe(200);
      // supertest serves each request on its own port: compare the link without its origin.
      uris.push(new URL(next.body.artifact.source.uri as string).pathname + new URL(next.body.artifact.source.uri as string).search);
      const expire = Date.parse(next.body.artifact.source.expire as string);
      expect(expire).toBeGreaterThanOrEqual(f.clock.now.getTime() + f.ctx.config.menderLinkTtlSeconds * 1000);
      expect(expire % 60_000).toBe(0);
    }
    expect(uris[0]).toBe(uris[1]);
  });
});

describe('Mender anti-rollback reads versions as semver does', () => {
  it('a signed version written with a space around it (semver reads " 2.0.0 " as 2.0.0) is offered above 1.0.0 and held back below 3.0.0', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    const published = await publishMender(f, { id: 'acc-s', version: '2.0.0 ' });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    await startRollout(f, 's1', 'acc-s');
    const c = client(f, '52:54:00:00:0s:01');
    expect((await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem })).status).toBe(201);
    expect((await c.auth()).status).toBe(200);
    const offered = await c.next('1.0.0');
    expect(offered.status).toBe(200);
    expect(offered.body.id).toBe('s1');
    // protocol §4 anti-rollback, done by the gateway: a device already on 3.0.0 is not offered 2.0.0.
    expect((await c.next('3.0.0')).status).toBe(204);
  });
});

describe('Mender next bodies are remembered by their exact bytes, never a refusal', () => {
  it('the same body twice gives the same answer; another artifact name another; a bad body is refused every time, the same bytes made valid are not', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await publishMender(f, { id: 'acc-m', version: '2.0.0' });
    await startRollout(f, 'm1', 'acc-m');
    const c = client(f, '52:54:00:00:0m:01');
    expect((await request(f.app).post('/v1/preauthorizations').set(rm(f)).send({ idData: JSON.stringify(c.idData), pubkey: c.key.pem })).status).toBe(201);
    expect((await c.auth()).status).toBe(200);
    const send = (body: string) => request(f.app).post(NEXT).set(bearer(c.token())).set('Content-Type', 'application/json').send(body);
    const offered = '{"device_provides":{"device_type":"acc-board","artifact_name":"1.0.0"},"update_control_map":true}';
    const installed = '{"device_provides":{"device_type":"acc-board","artifact_name":"3.0.0"},"update_control_map":true}';
    for (let i = 0; i < 2; i++) {
      expect((await send(offered)).status).toBe(200);
      expect((await send(installed)).status).toBe(204);
    }
    // Refused twice: a refusal is not remembered, and a body that differs by one byte is judged on its own.
    const bad = '{"device_provides":{"device_type":7,"artifact_name":"1.0.0"},"update_control_map":true}';
    for (let i = 0; i < 2; i++) expect((await send(bad)).status).toBe(400);
    expect((await send('{"device_provides":"x"}')).status).toBe(400);
    expect((await send(`${offered.slice(0, -1)}`)).status).toBe(400);
    expect((await send(offered)).status).toBe(200);
    // Each host the clients use gets its own link, in any order (bodies are kept per origin).
    for (const host of ['ota.example', '10.0.0.7:8080', 'ota.example']) {
      const res = await send(offered).set('Host', host);
      expect(res.status).toBe(200);
      expect(new URL(res.body.artifact.source.uri as string).host).toBe(host);
    }
  });
});
