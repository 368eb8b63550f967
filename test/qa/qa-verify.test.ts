import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../server/protocol/bucket.js';
import type { QaReport } from '../../server/programs/qa/qa-verify.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { ota } from '../cli/cli-harness.js';
import { api, LENIENT, publishOptinRelease, startLiveServer, startRollout, type LiveServer } from '../fleet/live-server.js';

/**
 * `ota qa verify` against a real server whose devices are reference agents
 * (`ota fleet simulate`), then against the same server after its database
 * was tampered with behind its back: each tampering must FAIL, naming it.
 */
describe('ota qa verify', () => {
  let s: LiveServer;
  // Tampering behind the server's back goes straight to its database (either engine).
  const db = () => s.running.ctx.sql;
  const ROLLOUT = 'optin-qa';
  const FIRST_STAGE_BP = 3000;

  const verify = (...extra: string[]) =>
    ota(['qa', 'verify', '--server', s.url, '--token', s.tokens.qa, '--root', s.rootFile, '--rollout', ROLLOUT, '--sample', '0', ...extra], { now: new Date() });
  const lineOf = (out: string, name: string): string => out.split('\n').find((l) => new RegExp(`^(PASS|FAIL|SKIP) ${name} `).test(l)) ?? `(no ${name} line)`;
  const failing = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('FAIL ')).map((l) => (l.split(/\s+/)[1] as string));

  beforeAll(async () => {
    s = await startLiveServer();
    await publishOptinRelease(s);
    await startRollout(s, {
      id: ROLLOUT,
      releaseId: 'redmi-1s-optin',
      stages: [{ cohort: 'all', basisPoints: FIRST_STAGE_BP }, { cohort: 'all', basisPoints: 10000 }],
      failurePolicy: LENIENT,
    });
    expect((await api(s, 'POST', `/v1/rollouts/${ROLLOUT}/advance`, s.tokens['release-manager'])).status).toBe(200);
    const fleet = await ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--root', s.rootFile, '--devices', '120',
      '--fail-rate', '0.1', '--user-optin-rate', '0.3', '--duration', '120', '--until-settled', '--seed', 'qa', '--progress', 'none', '--json']);
    expect(fleet.code, fleet.err).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await s?.close();
  });

  it('passes on a healthy rollout: every check PASS, exit 0', async () => {
    const r = await verify();
    expect(r.code, r.out + r.err).toBe(0);
    expect(failing(r.out)).toEqual([]);
    for (const name of ['root-chain', 'policy', 'release-signatures', 'release-manifest', 'release-policy', 'statement-signatures', 'statement-binding',
      'statement-rule', 'statement-expiry', 'device-eligibility', 'settings-status', 'settings-devices', 'status-consistency', 'audit-chain', 'audit-rollout']) {
      expect(lineOf(r.out, name)).toMatch(/^PASS /);
    }
    expect(r.out).toMatch(/of 120 offered\) pass the bucket test/);
    expect(r.out).toMatch(/→ PASS$/m);

    const json = await verify('--json', '--sample', '10', '--seed', 'x');
    const report = JSON.parse(json.out) as QaReport;
    expect(report).toMatchObject({ ok: true, failed: 0, devicesListed: 120, devicesSampled: 10, seed: 'x' });
  });

  it('fails naming the cause when the rollout salt is changed behind the server (the signed rule no longer matches)', async () => {
    const salt = (await db().value<string>('SELECT salt FROM rollouts WHERE id = ?', [ROLLOUT])) as string;
    await db().run('UPDATE rollouts SET salt = ? WHERE id = ?', ['0123456789abcdef0123456789abcdef', ROLLOUT]);
    try {
      const r = await verify();
      expect(r.code).toBe(1);
      expect(failing(r.out)).toEqual(['statement-rule']);
      expect(lineOf(r.out, 'statement-rule')).toMatch(/eligibility rule changed behind the server's back/);
      expect(r.out).toContain(`stage 1 (index 0): the signed statement carries salt ${salt}, the rollout now says 0123456789abcdef0123456789abcdef`);
      expect(r.out).toMatch(/→ FAIL$/m);
    } finally {
      await db().run('UPDATE rollouts SET salt = ? WHERE id = ?', [salt, ROLLOUT]);
    }
  });

  it('fails naming the devices recorded at a stage whose bucket test they fail', async () => {
    const salt = (await db().value<string>('SELECT salt FROM rollouts WHERE id = ?', [ROLLOUT])) as string;
    const laterStage = (await db().all<{ id: string }>('SELECT device_id AS id FROM rollout_devices WHERE rollout_id = ? AND stage = 1', [ROLLOUT])).map((r) => r.id)
      .filter((id) => bucketOf(salt, id) >= FIRST_STAGE_BP)
      .slice(0, 2);
    expect(laterStage.length).toBe(2);
    const move = (stage: number, id: string) => db().run('UPDATE rollout_devices SET stage = ? WHERE rollout_id = ? AND device_id = ?', [stage, ROLLOUT, id]);
    for (const id of laterStage) await move(0, id);
    try {
      const r = await verify();
      expect(r.code).toBe(1);
      expect(failing(r.out)).toEqual(['device-eligibility']);
      expect(lineOf(r.out, 'device-eligibility')).toMatch(/2 of 120 sampled devices .* eligibility rule changed behind the server's back/);
      for (const id of laterStage) expect(r.out).toMatch(new RegExp(`- ${id}: recorded at stage 1 \\(index 0\\), but bucket \\d+ is not below its ${FIRST_STAGE_BP} basis points`));
    } finally {
      for (const id of laterStage) await move(1, id);
    }
  });

  it('fails naming the entry where the audit hash chain breaks', async () => {
    const details = (await db().value<string>('SELECT details FROM audit_log WHERE seq = 2')) as string;
    await db().run('UPDATE audit_log SET details = ? WHERE seq = 2', ['{"tampered":true}']);
    try {
      const r = await verify();
      expect(r.code).toBe(1);
      expect(failing(r.out)).toEqual(['audit-chain']);
      expect(lineOf(r.out, 'audit-rollout')).toMatch(/^SKIP /);
      expect(lineOf(r.out, 'audit-chain')).toMatch(/the audit hash chain is broken at seq 2: hash does not match the entry/);
    } finally {
      await db().run('UPDATE audit_log SET details = ? WHERE seq = 2', [details]);
    }
    expect((await verify()).code).toBe(0);
  });

  it('fails when a device reports a consent setting on by default', async () => {
    const enrolled = await api(s, 'POST', '/v1/devices', s.tokens.enroller, { deviceId: 'qa-consent-1', model: 'redmi-1s', version: '1.4.1' });
    expect(enrolled.status).toBe(201);
    const report = {
      seq: 1, releaseId: 'redmi-1s-optin', rolloutId: ROLLOUT, state: 'applied', at: toTimestamp(new Date()), version: '1.4.3',
      settings: { 'cloud.messaging.enabled': { value: true, source: 'default' } },
    };
    const posted = await api(s, 'POST', '/v1/devices/qa-consent-1/reports', enrolled.body.deviceToken as string, [report]);
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);

    const r = await verify();
    expect(r.code).toBe(1);
    expect(failing(r.out)).toEqual(['settings-status', 'settings-devices']);
    expect(lineOf(r.out, 'settings-status')).toMatch(/consent setting on by default/);
    expect(r.out).toContain('- 1 device: cloud.messaging.enabled = true with source default (consent setting, safe value false)');
    expect(r.out).toContain('- qa-consent-1: cloud.messaging.enabled = true with source default');
  });

  it('refuses a token without read access, saying which role it needs', async () => {
    const r = await ota(['qa', 'verify', '--server', s.url, '--token', s.tokens.enroller, '--root', s.rootFile, '--rollout', ROLLOUT], { now: new Date() });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ota: GET \/v1\/.* answered 403 .*operator token with read access \(role qa\)/m);
    const missing = await ota(['qa', 'verify', '--server', s.url, '--token', s.tokens.qa, '--root', s.rootFile, '--rollout', 'no-such-rollout'], { now: new Date() });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no rollout no-such-rollout/);
  });
});
