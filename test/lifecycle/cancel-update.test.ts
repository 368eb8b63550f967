import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish, report } from '../helpers/fleet.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const cancel = (f: AppFixture, deviceId: string, body: unknown, token = f.tokens['release-manager']) =>
  request(f.app).post(`/v1/devices/${deviceId}/cancel-update`).set(bearer(token)).send(body as object);
const offers = async (f: AppFixture, id: string, token: string) => ((await poll(f.app, id, token)).body as { updates: unknown[] }).updates.length;
const status = async (f: AppFixture, id: string) =>
  (await request(f.app).get(`/v1/rollouts/${id}/status`).set(bearer(f.tokens.viewer))).body as { counts: Record<string, number>; failure: { terminal: number; failures: number }; stages: { silent: number }[] };

async function running() {
  const f = await makeApp();
  await publish(f);
  const r = await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
  expect((await act(f, r.id, 'start')).status).toBe(200);
  return f;
}

describe('POST /v1/devices/{deviceId}/cancel-update (protocol §7 fleet lifecycle)', () => {
  it("withdraws the device's open offer: its polls stop carrying it, status counts it as cancelled, not failed", async () => {
    const f = await running();
    const t1 = await enroll(f.app, f.tokens.enroller, 'd1');
    const t2 = await enroll(f.app, f.tokens.enroller, 'd2');
    expect(await offers(f, 'd1', t1)).toBe(1);
    expect(await offers(f, 'd2', t2)).toBe(1);
    expect((await report(f.app, 'd1', t1, { seq: 1, releaseId: RELEASE, rolloutId: 'r1', state: 'downloading', at: '2026-11-24T12:00:00Z' })).status).toBe(200);

    const res = await cancel(f, 'd1', { rolloutId: 'r1' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ rolloutId: 'r1', deviceId: 'd1', state: 'cancelled', previousState: 'downloading', cancelledAt: '2026-11-24T12:00:00Z' });
    expect(await offers(f, 'd1', t1)).toBe(0);
    expect(await offers(f, 'd2', t2)).toBe(1);

    const s = await status(f, 'r1');
    expect(s.counts).toMatchObject({ cancelled: 1, downloading: 0, failed: 0 });
    expect(s.failure).toMatchObject({ terminal: 0, failures: 0 });
    const listed = await request(f.app).get('/v1/rollouts/r1/devices').query({ state: 'cancelled' }).set(bearer(f.tokens.viewer));
    expect((listed.body as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId)).toEqual(['d1']);

    // Idempotent: the same answer, one audit entry.
    expect((await cancel(f, 'd1', { rolloutId: 'r1' })).body).toMatchObject({ state: 'cancelled', cancelledAt: '2026-11-24T12:00:00Z' });
    const audit = (await request(f.app).get('/v1/audit').query({ subject: 'd1' }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; details: unknown }[] };
    expect(audit.entries.filter((e) => e.action === 'device.cancel-update')).toEqual([expect.objectContaining({ details: { rolloutId: 'r1', previousState: 'downloading' } })]);
    expect((await status(f, 'r1')).counts.cancelled).toBe(1);
  });

  it('a silent device stops being silent; a device never offered is not offered later; a finished one is 409', async () => {
    const f = await running();
    const t1 = await enroll(f.app, f.tokens.enroller, 'd1');
    const t3 = await enroll(f.app, f.tokens.enroller, 'd3');
    expect(await offers(f, 'd1', t1)).toBe(1);
    expect((await cancel(f, 'd1', { rolloutId: 'r1' })).body).toMatchObject({ previousState: null });
    expect((await status(f, 'r1')).stages[0]?.silent).toBe(0);

    expect((await cancel(f, 'd3', { rolloutId: 'r1' })).status).toBe(200);
    expect(await offers(f, 'd3', t3)).toBe(0);

    const t4 = await enroll(f.app, f.tokens.enroller, 'd4');
    expect(await offers(f, 'd4', t4)).toBe(1);
    expect((await report(f.app, 'd4', t4, { seq: 1, releaseId: RELEASE, rolloutId: 'r1', state: 'applied', at: '2026-11-24T12:00:00Z' })).status).toBe(200);
    const finished = await cancel(f, 'd4', { rolloutId: 'r1' });
    expect(finished.status).toBe(409);
    expect((finished.body as { error: { code: string } }).error.code).toBe('conflict');
    expect((await status(f, 'r1')).counts).toMatchObject({ applied: 1, cancelled: 1 });
  });

  it('reports after a cancellation are taken as what happened (no 409 loop on the device)', async () => {
    const f = await running();
    const t1 = await enroll(f.app, f.tokens.enroller, 'd1');
    await offers(f, 'd1', t1);
    expect((await report(f.app, 'd1', t1, { seq: 1, releaseId: RELEASE, rolloutId: 'r1', state: 'installing', at: '2026-11-24T12:00:00Z' })).status).toBe(200);
    expect((await cancel(f, 'd1', { rolloutId: 'r1' })).status).toBe(200);
    expect((await report(f.app, 'd1', t1, { seq: 2, releaseId: RELEASE, rolloutId: 'r1', state: 'applied', at: '2026-11-24T12:00:01Z' })).status).toBe(200);
    expect((await status(f, 'r1')).counts).toMatchObject({ applied: 1, cancelled: 0, installing: 0 });
    expect(await offers(f, 'd1', t1)).toBe(0);
  });

  it('refuses bad input and wrong roles without changing anything', async () => {
    const f = await running();
    const t1 = await enroll(f.app, f.tokens.enroller, 'd1');
    for (const [body, code] of [[{}, 400], [{ rolloutId: 'R 1' }, 400], [{ rolloutId: 'r1', extra: 1 }, 400], [{ rolloutId: 'nope' }, 404]] as const) {
      expect((await cancel(f, 'd1', body)).status, JSON.stringify(body)).toBe(code);
    }
    expect((await cancel(f, 'ghost', { rolloutId: 'r1' })).status).toBe(404);
    for (const role of ['viewer', 'qa', 'enroller'] as const) expect((await cancel(f, 'd1', { rolloutId: 'r1' }, f.tokens[role])).status).toBe(403);
    expect((await cancel(f, 'd1', { rolloutId: 'r1' }, t1)).status).toBe(403);
    expect(await offers(f, 'd1', t1)).toBe(1);
  });
});
