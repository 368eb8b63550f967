import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { bearer, tempDir } from '../helpers/fixtures.js';
import { enroll, poll, publish, report } from '../helpers/fleet.js';
import { ota } from './cli-harness.js';
import { listen } from './cli-server.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';

describe('ota release list|show, ota artifact list', () => {
  it('list and show what was published and uploaded; --json is the API body', async () => {
    const s = await listen();
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens.viewer };
    expect(await ota(['release', 'list'], { env })).toMatchObject({ code: 0, out: 'no releases (publish one: ota publish release.json)\n' });
    expect(await ota(['artifact', 'list'], { env })).toMatchObject({ code: 0, out: 'no artifacts (upload one: ota artifact upload FILE)\n' });

    await publish(s);
    const list = await ota(['release', 'list'], { env });
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^ID\s+VERSION\s+MODELS\s+APPLIES TO\s+SETTINGS\s+ISSUED\s+PUBLISHED\n/);
    expect(list.out).toMatch(new RegExp(`\\n${RELEASE}\\s+\\(settings only\\)\\s+redmi-1s\\s+>=1\\.4\\.0 <1\\.4\\.3\\s+1\\s+2026-11-24T10:00:00Z\\s+\\S+\\n$`));
    const show = await ota(['release', 'show', RELEASE], { env });
    expect(show.out).toContain(`release ${RELEASE}\nmodels        redmi-1s\napplies to    >=1.4.0 <1.4.3\nversion       (settings only, no artifact)\n`);
    expect(show.out).toMatch(/\nsettings\n {2}KEY\s+VALUE\s+MODE\n {2}cloud\.messaging\.enabled\s+false\s+default\n$/);
    const api = await request(s.app).get(`/v1/releases/${RELEASE}`).set(bearer(s.tokens.viewer));
    expect(JSON.parse((await ota(['release', 'show', RELEASE, '--json'], { env })).out)).toEqual(api.body);
    expect(await ota(['release', 'show', 'ghost'], { env })).toMatchObject({ code: 1, err: 'ota: not_found: no release ghost\n' });

    const file = join(tempDir(), 'image.bin');
    writeFileSync(file, 'redmi-1s 1.4.3\n'.repeat(100));
    expect((await ota(['artifact', 'upload', file], { env: { ...env, OTA_TOKEN: s.tokens['release-manager'] } })).code).toBe(0);
    const artifacts = await ota(['artifact', 'list'], { env });
    expect(artifacts.out).toMatch(/^SHA256\s+SIZE\s+UPLOADED\s+BY\n[0-9a-f]{64}\s+1500\s+\S+Z\s+operator:test-release-manager\(release-manager\)\n$/);
    const json = JSON.parse((await ota(['artifact', 'list', '--json'], { env })).out) as { artifacts: { size: number; uploadedBy: string }[] };
    expect(json.artifacts).toEqual([{ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 1500, uploadedAt: expect.any(String), uploadedBy: 'operator:test-release-manager(release-manager)' }]);
    expect((await request(s.app).get('/v1/artifacts?cursor=nope').set(bearer(s.tokens.viewer))).status).toBe(400);
  });
});

describe('ota rollout devices ID --state failed', () => {
  it('lists failed devices with their error codes and a count per code', async () => {
    const s = await listen();
    await publish(s);
    const at = ['--server', s.url, '--token', s.tokens['release-manager']];
    expect((await ota(['cohort', 'create', 'qa', '--member', 'dev-a', 'dev-b', 'dev-c', 'dev-d', ...at])).code).toBe(0);
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'errs', '--stage', 'qa:100', '--max-failure-percent', '100', '--min-terminal', '100', '--report-timeout', '3600', ...at])).code).toBe(0);
    expect((await ota(['rollout', 'start', 'errs', ...at])).code).toBe(0);
    const base = { releaseId: RELEASE, rolloutId: 'errs', at: toTimestamp(s.clock.now) };
    const outcomes: Record<string, Record<string, unknown>> = {
      'dev-a': { state: 'failed', error: { code: 'E_SPACE', message: 'disk full' } },
      'dev-b': { state: 'failed', error: { code: 'E_SPACE', message: 'no room' } },
      'dev-c': { state: 'rejected', error: { code: 'signature_invalid', message: 'bad release signature' } },
      'dev-d': { state: 'applied' },
    };
    for (const [id, outcome] of Object.entries(outcomes)) {
      const token = await enroll(s.app, s.tokens.enroller, id);
      expect((await poll(s.app, id, token)).status).toBe(200);
      expect((await report(s.app, id, token, [{ ...base, seq: 1, state: 'downloading' }, { ...base, seq: 2, ...outcome }])).status).toBe(200);
    }
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens.qa };
    const failed = await ota(['rollout', 'devices', 'errs', '--state', 'failed'], { env });
    expect(failed.code, failed.err).toBe(0);
    expect(failed.out).toMatch(/^DEVICE\s+STAGE\s+STATE\s+STATE AT\s+LAST SEEN\s+ERROR\n/);
    expect(failed.out).toMatch(/\ndev-a\s+1\s+failed\s+\S+\s+\S+\s+E_SPACE: disk full\n/);
    expect(failed.out).toMatch(/\ndev-b\s+1\s+failed\s+\S+\s+\S+\s+E_SPACE: no room\n/);
    expect(failed.out).toContain('\nerror codes: E_SPACE 2\n');
    expect(failed.out).not.toContain('dev-c');

    const all = JSON.parse((await ota(['rollout', 'devices', 'errs', '--json'], { env })).out) as { devices: { deviceId: string; error: unknown }[] };
    expect(Object.fromEntries(all.devices.map((d) => [d.deviceId, d.error]))).toEqual({
      'dev-a': { code: 'E_SPACE', message: 'disk full' },
      'dev-b': { code: 'E_SPACE', message: 'no room' },
      'dev-c': { code: 'signature_invalid', message: 'bad release signature' },
      'dev-d': null,
    });
    const limited = await ota(['rollout', 'devices', 'errs', '--limit', '2'], { env });
    expect(limited.out).toContain('(first 2 devices offered; --limit N for more, --json for the cursor)\n');
    expect(await ota(['rollout', 'devices', 'errs', '--state', 'applied'], { env })).toMatchObject({ code: 0, out: expect.stringMatching(/\ndev-d\s+1\s+applied\s+\S+\s+\S+\s+-\n$/) });
    expect(await ota(['rollout', 'devices', 'errs', '--state', 'timed_out'], { env })).toMatchObject({ code: 0, out: 'no timed_out devices in rollout errs\n' });
    expect((await ota(['rollout', 'devices', 'errs', '--state', 'broken'], { env })).err).toMatch(/^ota: bad_request: state must be one of /);
  });
});
