import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, enroll } from '../helpers/fleet.js';
import { base, ddiRollout, feedbackOf, gw, hex, linkedAction, MODEL, RELEASE, target, TENANT } from './ddi-helpers.js';

/**
 * protocol §11, in process on the test engine (SQLite, or PostgreSQL with
 * OTA_TEST_ENGINE=postgres): the DDI gateway translates hawkBit's API into
 * the same enrollment, offers and durable reports native devices use.
 */

const statusOf = async (f: AppFixture, id: string) => {
  const res = await request(f.app).get(`/v1/rollouts/${id}/status`).set(bearer(f.tokens.qa));
  expect(res.status).toBe(200);
  return res.body as { state: string; counts: Record<string, number> };
};

const pollAs = (f: AppFixture, id: string, auth = gw(f.tokens.gateway)) => request(f.app).get(base(id)).set(auth).set('Host', 'ota.test:8443');

/** Registers `id` over the gateway token and sends its configData; returns the linked action. */
async function register(f: AppFixture, id: string, data: Record<string, string> = { model: MODEL, version: '1.0.0' }): Promise<number | undefined> {
  const first = await pollAs(f, id);
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  expect(first.body._links.configData.href).toBe(`http://ota.test:8443/${TENANT}/controller/v1/${id}/configData`);
  expect(first.body._links.deploymentBase).toBeUndefined();
  const put = await request(f.app).put(`${base(id)}/configData`).set(gw(f.tokens.gateway)).send({ id: '', data, mode: 'replace' });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const next = await pollAs(f, id);
  expect(next.body._links.configData).toBeUndefined();
  return linkedAction(next.body, 'deploymentBase');
}

const reportsOf = async (f: AppFixture, deviceId: string): Promise<number> => Number(await f.ctx.sql.value<number>('SELECT COUNT(*) FROM reports WHERE device_id = ?', [deviceId]));

describe('hawkBit DDI gateway (protocol §11)', () => {
  it('registers with the gateway token, takes configData, offers the release, serves the artifact, and maps feedback onto reports', async () => {
    const f = await makeApp();
    const bytes = randomBytes(70_000);
    const { rolloutId, sha256 } = await ddiRollout(f, { bytes, name: 'acc-board-2.0.0.swu' });
    const actionId = await register(f, 'ctl-1');
    expect(actionId).toBeGreaterThanOrEqual(1);
    expect(actionId).toBeLessThanOrEqual(2147483647);
    // Stable across polls.
    expect(linkedAction((await pollAs(f, 'ctl-1')).body, 'deploymentBase')).toBe(actionId);
    const poll = await pollAs(f, 'ctl-1');
    expect(poll.body.config.polling.sleep).toBe('00:05:00');

    // The device's attributes are its configData; model and version come from the named attributes.
    const dev = await request(f.app).get('/v1/devices/ctl-1').set(bearer(f.tokens.viewer));
    expect(dev.body).toMatchObject({ model: MODEL, version: '1.0.0', attributes: { model: MODEL, version: '1.0.0' } });
    // Registration over the gateway token is on the record.
    const audit = await request(f.app).get('/v1/audit').set(bearer(f.tokens.viewer));
    expect(JSON.stringify(audit.body)).toContain('"action":"ddi.register"');

    const dep = await request(f.app).get(`${base('ctl-1')}/deploymentBase/${actionId}`).set(gw(f.tokens.gateway)).set('Host', 'ota.test:8443');
    expect(dep.status).toBe(200);
    const href = `http://ota.test:8443/${TENANT}/controller/v1/ctl-1/softwaremodules/${sha256}/artifacts/acc-board-2.0.0.swu`;
    expect(dep.body).toEqual({
      id: String(actionId),
      deployment: {
        download: 'attempt', update: 'attempt',
        chunks: [{ part: 'os', name: RELEASE, version: '2.0.0', artifacts: [{
          filename: 'acc-board-2.0.0.swu', size: bytes.length,
          hashes: { sha1: hex('sha1', bytes), md5: hex('md5', bytes), sha256 },
          _links: { download: { href }, 'download-http': { href }, md5sum: { href: `${href}.MD5SUM` } },
        }] }],
      },
    });

    // Artifact: HEAD, GET, Range, .MD5SUM; no token needed.
    const path = new URL(href).pathname;
    const head = await request(f.app).head(path);
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(bytes.length);
    const get = await request(f.app).get(path).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(Buffer.compare(get.body as Buffer, bytes)).toBe(0);
    const range = await request(f.app).get(path).set('Range', 'bytes=10-19');
    expect(range.status).toBe(206);
    const md5 = await request(f.app).get(`${path}.MD5SUM`);
    expect(md5.text).toBe(`${hex('md5', bytes)}  acc-board-2.0.0.swu\n`);

    // proceeding → installing, once: repeats answer 200 and store nothing.
    const fb = `${base('ctl-1')}/deploymentBase/${actionId}/feedback`;
    expect((await request(f.app).post(fb).set(gw(f.tokens.gateway)).send(feedbackOf('proceeding', 'none', ['Installation in progress']))).status).toBe(200);
    expect(await reportsOf(f, 'ctl-1')).toBe(1);
    for (let i = 0; i < 3; i++) expect((await request(f.app).post(fb).set(gw(f.tokens.gateway)).send(feedbackOf('proceeding', 'none', [`line ${i}`, 'x'.repeat(20_000)]))).status).toBe(200);
    // Progress behind the action's state (download after installing) is not an error either.
    expect((await request(f.app).post(fb).set(gw(f.tokens.gateway)).send(feedbackOf('download', 'none'))).status).toBe(200);
    expect(await reportsOf(f, 'ctl-1')).toBe(1);
    expect((await statusOf(f, rolloutId)).counts).toMatchObject({ installing: 1, applied: 0 });

    // closed + success → applied; the installed version follows; the action is closed for good.
    expect((await request(f.app).post(fb).set(gw(f.tokens.gateway)).send(feedbackOf('closed', 'success', ['Update Installed.']))).status).toBe(200);
    expect((await statusOf(f, rolloutId)).counts).toMatchObject({ installing: 0, applied: 1 });
    await f.ctx.activity.flushAll();
    expect((await request(f.app).get('/v1/devices/ctl-1').set(bearer(f.tokens.viewer))).body.version).toBe('2.0.0');
    const again = await request(f.app).post(fb).set(gw(f.tokens.gateway)).send(feedbackOf('closed', 'success'));
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('action_closed');
    expect(await reportsOf(f, 'ctl-1')).toBe(2);
    // Never offered again, whatever version it says it runs.
    await request(f.app).put(`${base('ctl-1')}/configData`).set(gw(f.tokens.gateway)).send({ data: { model: MODEL, version: '1.0.0' } });
    expect((await pollAs(f, 'ctl-1')).body._links).toEqual({});
  });

  it('the device token works as TargetToken; closed + failure is failed with the first ERROR line; mandatory is forced', async () => {
    const f = await makeApp();
    const { rolloutId } = await ddiRollout(f, { bytes: randomBytes(1000), mandatory: true });
    const token = await enroll(f.app, f.tokens.enroller, 'native-enrolled', MODEL, '1.0.0');
    const poll = await pollAs(f, 'native-enrolled', target(token));
    expect(poll.status).toBe(200);
    // Enrolled natively with a model and version, but no configData yet: linked both.
    const actionId = linkedAction(poll.body, 'deploymentBase') as number;
    expect(poll.body._links.configData).toBeDefined();
    const dep = await request(f.app).get(`${base('native-enrolled')}/deploymentBase/${actionId}`).set(target(token));
    expect(dep.body.deployment).toMatchObject({ download: 'forced', update: 'forced' });
    // Default file name when none was given at upload: <release id>.swu.
    expect(dep.body.deployment.chunks[0].artifacts[0].filename).toBe(`${RELEASE}.swu`);
    const details = ['Image invalid or corrupted. Not installing ...', 'ERROR : Authentication of all signatures failed', 'ERROR : Compatible SW not found', 'No suitable .swu image found'];
    const res = await request(f.app).post(`${base('native-enrolled')}/deploymentBase/${actionId}/feedback`).set(target(token)).send(feedbackOf('closed', 'failure', details));
    expect(res.status).toBe(200);
    expect((await statusOf(f, rolloutId)).counts.failed).toBe(1);
    const failed = await request(f.app).get(`/v1/rollouts/${rolloutId}/devices`).query({ state: 'failed' }).set(bearer(f.tokens.viewer));
    expect(failed.body.devices[0].error).toEqual({ code: 'ddi_failure', message: 'ERROR : Authentication of all signatures failed' });
  });

  it('a decommissioned controller is refused over the gateway token too, and its next poll does not register it again', async () => {
    const f = await makeApp();
    await ddiRollout(f, { bytes: randomBytes(300) });
    expect((await pollAs(f, 'ctl-gone')).status).toBe(200);
    expect((await request(f.app).delete('/v1/devices/ctl-gone').set(bearer(f.tokens['release-manager']))).status).toBe(204);
    const again = await pollAs(f, 'ctl-gone');
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('unauthorized');
    // Every DDI route: 401, as for its own TargetToken (not a 404 "no controller").
    const config = await request(f.app).put(`${base('ctl-gone')}/configData`).set(gw(f.tokens.gateway)).send({ id: '', data: { model: MODEL, version: '1.0.0' }, mode: 'replace' });
    const action = await request(f.app).get(`${base('ctl-gone')}/deploymentBase/1`).set(gw(f.tokens.gateway));
    for (const res of [config, action]) {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const dev = await request(f.app).get('/v1/devices/ctl-gone').set(bearer(f.tokens.viewer));
    expect(dev.body.decommissionedAt).toEqual(expect.any(String));
  });

  it('a configData model outside the model grammar is no model (offered nothing), as over Mender; the attribute is kept as sent', async () => {
    const f = await makeApp();
    await ddiRollout(f, { bytes: randomBytes(300) });
    expect((await pollAs(f, 'ctl-odd')).status).toBe(200);
    const odd = `${MODEL}\u202e`;
    expect((await request(f.app).put(`${base('ctl-odd')}/configData`).set(gw(f.tokens.gateway)).send({ data: { model: odd, version: '1.0.0' } })).status).toBe(200);
    const dev = (await request(f.app).get('/v1/devices/ctl-odd').set(bearer(f.tokens.viewer))).body;
    expect(dev).toMatchObject({ model: '', attributes: { model: odd } });
    expect(linkedAction((await pollAs(f, 'ctl-odd')).body, 'deploymentBase')).toBeUndefined();
  });

  it('a HEAD of the base poll answers as a GET would for a known controller, and registers no unknown one', async () => {
    const f = await makeApp();
    await ddiRollout(f, { bytes: randomBytes(300) });
    const head = await request(f.app).head(base('ctl-head')).set(gw(f.tokens.gateway));
    expect(head.status).toBe(404);
    expect((await request(f.app).get('/v1/devices/ctl-head').set(bearer(f.tokens.viewer))).status).toBe(404);
    expect(JSON.stringify((await request(f.app).get('/v1/audit').set(bearer(f.tokens.viewer))).body)).not.toContain('"action":"ddi.register"');
    expect((await pollAs(f, 'ctl-head')).status).toBe(200);
    const known = await request(f.app).head(base('ctl-head')).set(gw(f.tokens.gateway));
    expect(known.status).toBe(200);
    expect(Number(known.headers['content-length'])).toBeGreaterThan(0);
  });

  it('an operator cancelling one device\'s update turns its open action into cancelAction', async () => {
    const f = await makeApp();
    const { rolloutId } = await ddiRollout(f, { bytes: randomBytes(300) });
    const actionId = await register(f, 'ctl-cancel');
    expect(actionId).toBeDefined();
    const cancel = await request(f.app).post('/v1/devices/ctl-cancel/cancel-update').set(bearer(f.tokens['release-manager'])).send({ rolloutId });
    expect(cancel.status).toBe(200);
    const poll = await pollAs(f, 'ctl-cancel');
    expect(linkedAction(poll.body, 'cancelAction')).toBe(actionId);
    expect(linkedAction(poll.body, 'deploymentBase')).toBeUndefined();
  });

  it('a halt turns the open action into cancelAction; its acknowledgement is declined (cancelled), never applied; nothing new is offered', async () => {
    const f = await makeApp();
    const { rolloutId } = await ddiRollout(f, { bytes: randomBytes(500) });
    const a1 = (await register(f, 'ctl-a')) as number;
    await request(f.app).post(`${base('ctl-a')}/deploymentBase/${a1}/feedback`).set(gw(f.tokens.gateway)).send(feedbackOf('proceeding', 'none'));
    // A paused rollout keeps the open action linked.
    expect((await act(f, rolloutId, 'pause')).status).toBe(200);
    expect(linkedAction((await pollAs(f, 'ctl-a')).body, 'deploymentBase')).toBe(a1);
    expect((await act(f, rolloutId, 'halt')).status).toBe(200);
    const poll = await pollAs(f, 'ctl-a');
    expect(poll.body._links.deploymentBase).toBeUndefined();
    expect(linkedAction(poll.body, 'cancelAction')).toBe(a1);
    const cancel = await request(f.app).get(`${base('ctl-a')}/cancelAction/${a1}`).set(gw(f.tokens.gateway));
    expect(cancel.body).toEqual({ id: String(a1), cancelAction: { stopId: String(a1) } });
    // A fresh controller is offered nothing from a halted rollout.
    expect(await register(f, 'ctl-b')).toBeUndefined();
    const ack = await request(f.app).post(`${base('ctl-a')}/cancelAction/${a1}/feedback`).set(gw(f.tokens.gateway)).send(feedbackOf('closed', 'success'));
    expect(ack.status).toBe(200);
    const st = await statusOf(f, rolloutId);
    expect(st.counts).toMatchObject({ declined: 1, applied: 0, installing: 0 });
    const declined = await request(f.app).get(`/v1/rollouts/${rolloutId}/devices`).query({ state: 'declined' }).set(bearer(f.tokens.viewer));
    expect(declined.body.devices[0].error.code).toBe('cancelled');
    expect((await pollAs(f, 'ctl-a')).body._links).toEqual({});
    expect((await request(f.app).post(`${base('ctl-a')}/deploymentBase/${a1}/feedback`).set(gw(f.tokens.gateway)).send(feedbackOf('closed', 'success'))).status).toBe(410);
  });

  it('a settings-only release is never offered over DDI', async () => {
    const f = await makeApp();
    const { publish, createRollout } = await import('../helpers/fleet.js');
    await publish(f, { id: 'settings-only', models: [MODEL], appliesTo: '>=1.0.0', settings: [{ key: 'cloud.messaging.enabled', value: false, mode: 'default' }] });
    const r = await createRollout(f, { releaseId: 'settings-only', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 5, reportTimeoutSeconds: 3600 } });
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const token = await enroll(f.app, f.tokens.enroller, 'native-dev', MODEL, '1.0.0');
    // The native poll offers it; the DDI poll of a device just like it does not.
    const native = await request(f.app).get('/v1/devices/native-dev/update').set(bearer(token));
    expect(native.body.updates).toHaveLength(1);
    expect(await register(f, 'ctl-settings')).toBeUndefined();
  });

  it('bad input on every DDI route: a clear 4xx with the §7 body, and nothing changes', async () => {
    const f = await makeApp({ config: { maxJsonBytes: 64 * 1024 } });
    const { rolloutId } = await ddiRollout(f, { bytes: randomBytes(500) });
    const actionId = (await register(f, 'ctl-x')) as number;
    const otherToken = await enroll(f.app, f.tokens.enroller, 'other-dev', MODEL, '1.0.0');
    const other = (await pollAs(f, 'other-dev', target(otherToken)));
    const otherAction = linkedAction(other.body, 'deploymentBase') as number;
    const snapshot = async () => JSON.stringify([
      await f.ctx.sql.all('SELECT * FROM ddi_actions ORDER BY id'),
      await f.ctx.sql.all('SELECT id, model, version, attributes, last_seq FROM devices ORDER BY id'),
      await f.ctx.sql.value('SELECT COUNT(*) FROM reports'),
      (await statusOf(f, rolloutId)).counts,
    ]);
    const before = await snapshot();
    const g = gw(f.tokens.gateway);
    const fb = feedbackOf('proceeding', 'none');
    const cases: { what: string; req: () => request.Test; status: number; code: string }[] = [
      { what: 'unknown tenant', req: () => request(f.app).get(base('ctl-x', 'OTHER')).set(g), status: 404, code: 'not_found' },
      { what: 'unknown tenant, feedback', req: () => request(f.app).post(`${base('ctl-x', 'OTHER')}/deploymentBase/${actionId}/feedback`).set(g).send(fb), status: 404, code: 'not_found' },
      { what: 'no credential', req: () => request(f.app).get(base('ctl-x')), status: 401, code: 'unauthorized' },
      { what: 'Bearer scheme', req: () => request(f.app).get(base('ctl-x')).set(bearer(f.tokens.gateway)), status: 401, code: 'unauthorized' },
      { what: 'viewer token as GatewayToken', req: () => request(f.app).get(base('ctl-new')).set(gw(f.tokens.viewer)), status: 401, code: 'unauthorized' },
      { what: 'admin token as GatewayToken', req: () => request(f.app).get(base('ctl-new')).set(gw(f.tokens.admin)), status: 401, code: 'unauthorized' },
      { what: 'gateway token as TargetToken', req: () => request(f.app).get(base('ctl-x')).set(target(f.tokens.gateway)), status: 401, code: 'unauthorized' },
      { what: 'another device\'s TargetToken', req: () => request(f.app).get(base('ctl-x')).set(target(otherToken)), status: 401, code: 'unauthorized' },
      { what: 'foreign controllerId with a TargetToken, feedback', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(target(otherToken)).send(fb), status: 401, code: 'unauthorized' },
      { what: 'bad controllerId', req: () => request(f.app).get(base('bad%20id')).set(g), status: 400, code: 'bad_request' },
      { what: 'unknown controller, not a poll', req: () => request(f.app).put(`${base('ctl-unknown')}/configData`).set(g).send({ data: {} }), status: 404, code: 'not_found' },
      { what: 'action of another device', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${otherAction}/feedback`).set(g).send(fb), status: 404, code: 'not_found' },
      { what: 'action of another device, deploymentBase', req: () => request(f.app).get(`${base('ctl-x')}/deploymentBase/${otherAction}`).set(g), status: 404, code: 'not_found' },
      { what: 'actionId 0', req: () => request(f.app).get(`${base('ctl-x')}/deploymentBase/0`).set(g), status: 400, code: 'bad_request' },
      { what: 'actionId over 32 bits', req: () => request(f.app).get(`${base('ctl-x')}/deploymentBase/2147483648`).set(g), status: 400, code: 'bad_request' },
      { what: 'actionId not a number', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/abc/feedback`).set(g).send(fb), status: 400, code: 'bad_request' },
      { what: 'feedback without status', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).send({ id: '1' }), status: 400, code: 'validation_failed' },
      { what: 'unknown execution', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).send(feedbackOf('exploded', 'none')), status: 400, code: 'validation_failed' },
      { what: 'closed + none', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).send(feedbackOf('closed', 'none')), status: 400, code: 'validation_failed' },
      { what: 'details not strings', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).send({ status: { execution: 'closed', result: { finished: 'failure' }, details: [1, 2] } }), status: 400, code: 'validation_failed' },
      { what: 'not JSON', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).set('Content-Type', 'application/json').send('{"status":'), status: 400, code: 'invalid_json' },
      { what: 'huge details beyond the body limit', req: () => request(f.app).post(`${base('ctl-x')}/deploymentBase/${actionId}/feedback`).set(g).send(feedbackOf('closed', 'failure', ['ERROR x'.repeat(20_000)])), status: 413, code: 'payload_too_large' },
      { what: 'cancelAction of an action not being cancelled', req: () => request(f.app).get(`${base('ctl-x')}/cancelAction/${actionId}`).set(g), status: 404, code: 'not_found' },
      { what: 'cancel feedback of an action not being cancelled', req: () => request(f.app).post(`${base('ctl-x')}/cancelAction/${actionId}/feedback`).set(g).send(feedbackOf('closed', 'success')), status: 404, code: 'not_found' },
      { what: 'configData without data', req: () => request(f.app).put(`${base('ctl-x')}/configData`).set(g).send({ mode: 'merge' }), status: 400, code: 'validation_failed' },
      { what: 'configData with a bad mode', req: () => request(f.app).put(`${base('ctl-x')}/configData`).set(g).send({ data: {}, mode: 'append' }), status: 400, code: 'validation_failed' },
      { what: 'configData with a non-string value', req: () => request(f.app).put(`${base('ctl-x')}/configData`).set(g).send({ data: { model: 5 } }), status: 400, code: 'validation_failed' },
      { what: 'configData with too many attributes', req: () => request(f.app).put(`${base('ctl-x')}/configData`).set(g).send({ data: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), status: 400, code: 'validation_failed' },
      { what: 'configData with a version that is not semver', req: () => request(f.app).put(`${base('ctl-x')}/configData`).set(g).send({ data: { model: MODEL, version: 'yesterday' } }), status: 400, code: 'validation_failed' },
      { what: 'artifact of an unknown module', req: () => request(f.app).get(`${base('ctl-x')}/softwaremodules/${'0'.repeat(64)}/artifacts/x.swu`), status: 404, code: 'not_found' },
      { what: 'artifact with a bad module id', req: () => request(f.app).get(`${base('ctl-x')}/softwaremodules/12/artifacts/x.swu`), status: 404, code: 'not_found' },
    ];
    for (const c of cases) {
      const res = await c.req();
      expect(res.status, c.what).toBe(c.status);
      expect(res.body.error?.code, c.what).toBe(c.code);
      expect(typeof res.body.error.message, c.what).toBe('string');
    }
    expect(await snapshot()).toBe(before);
  });
});

describe('hawkBit DDI gateway and maintenance windows (protocol §7, §11)', () => {
  it('outside the stage window deploymentBase says update "skip", maintenanceWindow "unavailable"; inside it, attempt', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await ddiRollout(f, { bytes: randomBytes(1000), name: 'acc-board-2.0.0.swu', stages: [{ cohort: 'all', basisPoints: 10000, window: { start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' } }] });
    const actionId = await register(f, 'ctl-w');
    expect(actionId).toBeDefined();
    const closed = await request(f.app).get(`${base('ctl-w')}/deploymentBase/${actionId}`).set(gw(f.tokens.gateway));
    expect(closed.status).toBe(200);
    expect(closed.body.deployment).toMatchObject({ download: 'attempt', update: 'skip', maintenanceWindow: 'unavailable' });
    // The device leaves the release's appliesTo (a version seen in configData): the action stays linked
    // (§11), and so does its window.
    expect((await request(f.app).put(`${base('ctl-w')}/configData`).set(gw(f.tokens.gateway)).send({ data: { model: MODEL, version: '2.5.0' } })).status).toBe(200);
    expect(linkedAction((await pollAs(f, 'ctl-w')).body, 'deploymentBase')).toBe(actionId);
    const stillClosed = await request(f.app).get(`${base('ctl-w')}/deploymentBase/${actionId}`).set(gw(f.tokens.gateway));
    expect(stillClosed.body.deployment).toMatchObject({ download: 'attempt', update: 'skip', maintenanceWindow: 'unavailable' });
    f.clock.now = new Date('2026-11-25T01:30:00Z');
    const open = await request(f.app).get(`${base('ctl-w')}/deploymentBase/${actionId}`).set(gw(f.tokens.gateway));
    expect(open.body.deployment).toMatchObject({ download: 'attempt', update: 'attempt' });
    expect(open.body.deployment).not.toHaveProperty('maintenanceWindow');
  });
});
