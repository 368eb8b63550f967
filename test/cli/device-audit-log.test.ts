import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { bearer } from '../helpers/fixtures.js';
import { enroll, poll, publish, report } from '../helpers/fleet.js';
import { ota } from './cli-harness.js';
import { listen } from './cli-server.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';

describe('ota device list|show (issue 9, on the operator device routes)', () => {
  it('lists devices with filters across pages and shows one with its state and error per rollout', async () => {
    const s = await listen();
    await publish(s);
    const rm = ['--server', s.url, '--token', s.tokens['release-manager']];
    expect((await ota(['cohort', 'create', 'qa', '--member', 'dev-a', 'dev-b', ...rm])).code).toBe(0);
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'devs', '--stage', 'qa:100', '--max-failure-percent', '100', '--min-terminal', '100', '--report-timeout', '3600', ...rm])).code).toBe(0);
    expect((await ota(['rollout', 'start', 'devs', ...rm])).code).toBe(0);
    for (const id of ['dev-a', 'dev-b', 'other-1']) {
      const token = await enroll(s.app, s.tokens.enroller, id, id === 'other-1' ? 'mi-9' : 'redmi-1s');
      expect((await poll(s.app, id, token, '1.4.1')).status).toBe(200);
      if (id === 'dev-a') {
        const res = await report(s.app, id, token, { seq: 1, releaseId: RELEASE, rolloutId: 'devs', state: 'failed', at: toTimestamp(s.clock.now), error: { code: 'E_SPACE', message: 'disk full' } });
        expect(res.status).toBe(200);
      }
    }
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens.viewer };
    const all = await ota(['device', 'list'], { env });
    expect(all.code, all.err).toBe(0);
    expect(all.out).toMatch(/^DEVICE\s+MODEL\s+VERSION\s+LAST SEEN\ndev-a\s+redmi-1s\s+1\.4\.1\s+\S+\ndev-b\s+redmi-1s\s+1\.4\.1\s+\S+\nother-1\s+mi-9\s+1\.4\.1\s+\S+\n3 devices\n$/);
    expect((await ota(['device', 'list', '--model', 'mi-9'], { env })).out).toMatch(/\nother-1\s+mi-9\s+.*\n1 device\n$/);
    const failed = JSON.parse((await ota(['device', 'list', '--rollout', 'devs', '--state', 'failed', '--json'], { env })).out) as { devices: { deviceId: string }[] };
    expect(failed.devices.map((d) => d.deviceId)).toEqual(['dev-a']);
    const show = await ota(['device', 'show', 'dev-a'], { env });
    expect(show.out).toMatch(/^device dev-a: redmi-1s 1\.4\.1, enrolled \S+, last seen \S+\ncohorts {2}all, qa\n/);
    expect(show.out).toMatch(/\ndevs\s+redmi-1s-cloud-optin-2014-08\s+1\s+failed\s+\S+\s+E_SPACE: disk full\n$/);
    const api = await request(s.app).get('/v1/devices/dev-a').set(bearer(s.tokens.viewer));
    expect(JSON.parse((await ota(['device', 'show', 'dev-a', '--json'], { env })).out)).toEqual(api.body);
    expect(await ota(['device', 'show', 'ghost'], { env })).toMatchObject({ code: 1, err: 'ota: not_found: no device ghost\n' });
  });
});

describe('ota audit log [--verify]', () => {
  it('prints the audit log oldest first; --verify passes on an intact chain and names the entry where a tampered one breaks', async () => {
    const s = await listen();
    await publish(s);
    expect((await ota(['cohort', 'create', 'qa', '--server', s.url, '--token', s.tokens['release-manager']])).code).toBe(0);
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens.qa };
    const log = await ota(['audit', 'log', '--verify'], { env });
    expect(log.code, log.err).toBe(0);
    expect(log.out).toMatch(/^SEQ\s+AT\s+ACTOR\s+ACTION\s+SUBJECT\n\s*1\s+\S+\s+\S+\s+release\.publish\s+redmi-1s-cloud-optin-2014-08\n\s*2\s+\S+\s+\S+\s+cohort\.create\s+qa\n/);
    expect(log.out).toMatch(/\nPASS: 2 entries, each hash recomputed/);
    await s.ctx.sql.run("UPDATE audit_log SET subject = 'qa-tampered' WHERE seq = 2");
    const broken = await ota(['audit', 'log', '--verify'], { env });
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/\nFAIL: the chain breaks at seq 2: hash does not match the entry \(1 entries before it verify\)\n$/);
    // --server and --json are also options of `ota audit` itself: given after `log`, they still reach it.
    const json = JSON.parse((await ota(['audit', 'log', '--json', '--server', s.url, '--token', s.tokens.viewer])).out) as { entries: unknown[] };
    expect(json.entries).toHaveLength(2);
  });
});
