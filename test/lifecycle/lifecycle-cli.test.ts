import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/fixtures.js';
import { enroll, poll } from '../helpers/fleet.js';
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
