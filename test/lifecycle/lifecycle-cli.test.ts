import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/fixtures.js';
import { act, createCohort, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';

describe('ota device decommission ID', () => {
  it('decommissions over the API: the token is refused, `device show` says so; an unknown id fails with the error', async () => {
    const s = await listen();
    const token = await enroll(s.app, s.tokens.enroller, 'd1');
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };
    const done = await ota(['device', 'decommission', 'd1'], { env });
    expect(done.code, done.err).toBe(0);
    expect(done.out).toMatch(/^decommissioned d1: its token is refused/);
    expect((await poll(s.app, 'd1', token)).status).toBe(401);
    const show = await ota(['device', 'show', 'd1'], { env });
    expect(show.out).toContain('decommissioned 2026-');
    expect(await ota(['device', 'decommission', 'ghost'], { env })).toMatchObject({ code: 1, err: 'ota: not_found: no device ghost\n' });
    expect((await ota(['device', 'decommission', 'd1'], { env: { ...env, OTA_TOKEN: s.tokens.viewer } })).code).toBe(1);
    expect((await request(s.app).get('/v1/devices/d1').set(bearer(s.tokens.viewer))).body).toMatchObject({ decommissionedAt: expect.any(String) });
  });
});

describe('ota device cancel-update ID --rollout R', () => {
  it("withdraws the offer, and `rollout status` shows the device as cancelled", async () => {
    const s = await listen();
    await publish(s);
    await createRollout(s, { id: 'r1', releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(s, 'r1', 'start')).status).toBe(200);
    const token = await enroll(s.app, s.tokens.enroller, 'd1');
    expect(((await poll(s.app, 'd1', token)).body as { updates: unknown[] }).updates).toHaveLength(1);
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };
    const done = await ota(['device', 'cancel-update', 'd1', '--rollout', 'r1'], { env });
    expect(done.code, done.err).toBe(0);
    expect(done.out).toMatch(/^cancelled rollout r1's update of d1 at \S+ \(was: offered, nothing reported\)/);
    expect(((await poll(s.app, 'd1', token)).body as { updates: unknown[] }).updates).toHaveLength(0);
    const status = await ota(['rollout', 'status', 'r1'], { env });
    expect(status.out).toMatch(/CANCELLED/);
    expect(await ota(['device', 'cancel-update', 'd1'], { env })).toMatchObject({ code: 1 });
  });
});

describe('ota cohort edit|delete', () => {
  it('edits the rule and description, refuses a delete while a rollout uses the cohort, then deletes it', async () => {
    const s = await listen();
    await publish(s);
    await createCohort(s, { name: 'eu', description: 'Europe', rule: { models: ['redmi-1s'] } });
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };
    const edited = await ota(['cohort', 'edit', 'eu', '--attribute', 'region=eu', 'region=uk', '--description', 'EU + UK'], { env });
    expect(edited.code, edited.err).toBe(0);
    expect(edited.out).toBe('updated cohort eu: 0 explicit members; rule: region=eu|uk\n');
    expect(await ota(['cohort', 'edit', 'eu'], { env })).toMatchObject({ code: 1, err: expect.stringContaining('nothing to change') });
    expect((await ota(['cohort', 'edit', 'eu', '--clear-rule'], { env })).out).toBe('updated cohort eu: 0 explicit members; rule: -\n');
    await createRollout(s, { id: 'r1', releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'eu', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    const refused = await ota(['cohort', 'delete', 'eu'], { env });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^ota: conflict: cohort eu is used by rollout r1/);
    expect((await act(s, 'r1', 'cancel')).status).toBe(200);
    expect(await ota(['cohort', 'delete', 'eu'], { env })).toMatchObject({ code: 0, out: 'deleted cohort eu\n' });
  });
});
