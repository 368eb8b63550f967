import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { bearer } from '../helpers/fixtures.js';
import { enroll, poll, publish, report } from '../helpers/fleet.js';
import { ota } from './cli-harness.js';
import { listen, type Listening } from './cli-server.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const POLICY_FLAGS = ['--max-failure-percent', '20', '--min-terminal', '5', '--report-timeout', '3600'];

/** A server with the example release published and a cohort `qa` of dev-a, dev-b, dev-c. */
async function fleet(): Promise<{ s: Listening; at: string[] }> {
  const s = await listen();
  await publish(s);
  const at = ['--server', s.url, '--token', s.tokens['release-manager']];
  expect((await ota(['cohort', 'create', 'qa', '--member', 'dev-a', 'dev-b', 'dev-c', ...at])).code).toBe(0);
  return { s, at };
}

const apiRollouts = async (s: Listening) => (await request(s.app).get('/v1/rollouts').set(bearer(s.tokens.viewer))).body as { rollouts: { id: string }[] };

describe('ota rollout create', () => {
  it('converts percentages to basis points exactly (0.5% → 50) and prints the draft', async () => {
    const { at } = await fleet();
    const r = await ota(['rollout', 'create', '--release', RELEASE, '--id', 'cli-r1', '--stage', 'qa:100', 'all:0.5:3600:auto', '--stage', 'all:12.34', '--max-failure-percent', '2.5', '--min-terminal', '5', '--report-timeout', '3600', '--json', ...at]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 'cli-r1',
      releaseId: RELEASE,
      state: 'draft',
      stages: [
        { cohort: 'qa', basisPoints: 10000, minDwellSeconds: 0, autoAdvance: false },
        { cohort: 'all', basisPoints: 50, minDwellSeconds: 3600, autoAdvance: true },
        { cohort: 'all', basisPoints: 1234, minDwellSeconds: 0, autoAdvance: false },
      ],
      failurePolicy: { maxFailureBasisPoints: 250, minTerminalReports: 5, reportTimeoutSeconds: 3600 },
    });

    const plain = await ota(['rollout', 'create', '--release', RELEASE, '--stage', 'qa:100', 'all:0.5', ...POLICY_FLAGS, ...at]);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(new RegExp(`^created rollout ${RELEASE.replace(/\./g, '\\.')}-[0-9a-f]{8} \\(release ${RELEASE}\\): draft, 2 stages: qa 100\\.00% → all 0\\.50%\\n$`));
  });

  it('refuses 0.123% (no basis point to land on) and a bad stage before sending anything', async () => {
    const { s, at } = await fleet();
    const r = await ota(['rollout', 'create', '--release', RELEASE, '--stage', 'qa:100', 'all:0.123', ...POLICY_FLAGS, ...at]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe('ota: the percentage in --stage "all:0.123" has more than 2 decimals ("0.123"): the finest step is 0.01% (1 basis point)\n');
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--stage', 'qa:100', '--max-failure-percent', '0.001', '--min-terminal', '5', '--report-timeout', '60', ...at])).err).toMatch(/^ota: --max-failure-percent has more than 2 decimals/);
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--stage', 'qa', ...POLICY_FLAGS, ...at])).err).toMatch(/^ota: --stage must be COHORT:PERCENT/);
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--stage', 'qa:10', ...POLICY_FLAGS.slice(0, 2), '--min-terminal', '0', '--report-timeout', '60', ...at])).err).toMatch(/^ota: --min-terminal must be an integer from 1/);
    expect((await apiRollouts(s)).rollouts).toEqual([]);
  });

  it('prints the server refusal with its details: unknown release and cohort (422)', async () => {
    const { at } = await fleet();
    const r = await ota(['rollout', 'create', '--release', 'no-such-release', '--stage', 'nobody:10', ...POLICY_FLAGS, ...at]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ota: unprocessable: the rollout cannot be created\n  - /releaseId: no release no-such-release\n  - /stages/0/cohort: no cohort nobody\n');
  });
});

describe('ota rollout start|pause|resume|advance|halt|cancel|list|status', () => {
  it('walks the state machine; an invalid transition prints the 409 and exits 1', async () => {
    const { s, at } = await fleet();
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'walk', '--stage', 'qa:100', 'all:0.5', ...POLICY_FLAGS, ...at])).code).toBe(0);
    const step = async (action: string, token = s.tokens['release-manager']) => ota(['rollout', action, 'walk', '--server', s.url], { env: { OTA_TOKEN: token } });

    const head = `rollout walk (release ${RELEASE}): `;
    expect(await step('start')).toMatchObject({ code: 0, out: `${head}running, stage 1 of 2 (qa 100.00%)\n`, err: '' });
    expect(await step('pause', s.tokens.qa)).toMatchObject({ code: 0, out: `${head}paused, stage 1 of 2 (qa 100.00%)\n` });
    const paused = await step('pause');
    expect(paused).toMatchObject({ code: 1, out: '', err: 'ota: invalid_transition: cannot pause a paused rollout: only a running rollout can pause\n' });
    expect(await step('advance')).toMatchObject({ code: 1, err: 'ota: invalid_transition: cannot advance a paused rollout: only a running rollout can advance\n' });
    expect(await step('resume')).toMatchObject({ code: 0, out: `${head}running, stage 1 of 2 (qa 100.00%)\n` });
    expect(await step('advance')).toMatchObject({ code: 0, out: `${head}running, stage 2 of 2 (all 0.50%)\n` });
    expect(await step('start', s.tokens.qa)).toMatchObject({ code: 1, err: expect.stringMatching(/^ota: forbidden: /) });
    expect(await step('halt', s.tokens.qa)).toMatchObject({ code: 0, out: `${head}halted, stage 2 of 2 (all 0.50%)\n` });
    expect(await step('start')).toMatchObject({ code: 1, err: 'ota: invalid_transition: cannot start a halted rollout: only a draft can start\n' });
    expect(await step('cancel')).toMatchObject({ code: 0, out: `${head}cancelled, stage 2 of 2 (all 0.50%)\n` });
    const json = await ota(['rollout', 'cancel', 'walk', '--json', ...at]);
    expect(json).toMatchObject({ code: 1, out: '', err: 'ota: invalid_transition: cannot cancel a cancelled rollout: it is already cancelled\n' });
    expect(await ota(['rollout', 'start', 'ghost', ...at])).toMatchObject({ code: 1, err: 'ota: not_found: no rollout ghost\n' });

    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'second', '--stage', 'all:10', ...POLICY_FLAGS, ...at])).code).toBe(0);
    const list = await ota(['rollout', 'list', ...at]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ID\s+RELEASE\s+STATE\s+STAGE\s+UPDATED\n/);
    expect(list.out).toMatch(new RegExp(`^second\\s+${RELEASE}\\s+draft\\s+1/1 all 10\\.00%\\s+\\S+$`, 'm'));
    expect(list.out).toMatch(new RegExp(`^walk\\s+${RELEASE}\\s+cancelled\\s+2/2 all 0\\.50%\\s+\\S+$`, 'm'));
    expect((JSON.parse((await ota(['rollout', 'list', '--json', ...at])).out) as { rollouts: unknown[] }).rollouts).toEqual((await apiRollouts(s)).rollouts);
  });

  it('status prints state, counts, failure rate vs threshold, settings compliance, stages and silent devices; --json is the API body', async () => {
    const { s, at } = await fleet();
    const tokens = new Map<string, string>();
    for (const id of ['dev-a', 'dev-b', 'dev-c', 'dev-x']) tokens.set(id, await enroll(s.app, s.tokens.enroller, id));
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'watch', '--stage', 'qa:100', 'all:0:600', ...POLICY_FLAGS, ...at])).code).toBe(0);
    expect((await ota(['rollout', 'start', 'watch', ...at])).code).toBe(0);
    for (const id of ['dev-a', 'dev-b', 'dev-c']) {
      const res = await poll(s.app, id, tokens.get(id) as string);
      expect((res.body as { updates: unknown[] }).updates).toHaveLength(1);
    }
    const at0 = toTimestamp(s.clock.now);
    const base = { releaseId: RELEASE, rolloutId: 'watch', at: at0 };
    expect((await report(s.app, 'dev-a', tokens.get('dev-a') as string, [
      { ...base, seq: 1, state: 'received' },
      { ...base, seq: 2, state: 'applied', settings: { 'cloud.messaging.enabled': { value: false, source: 'default' } } },
    ])).status).toBe(200);
    expect((await report(s.app, 'dev-b', tokens.get('dev-b') as string, { ...base, seq: 1, state: 'failed', error: { code: 'E_SPACE', message: 'disk full' }, settings: { 'cloud.messaging.enabled': { value: true, source: 'user' } } })).status).toBe(200);
    await s.ctx.census.run(false);

    const r = await ota(['rollout', 'status', 'watch', '--server', s.url, '--token', s.tokens.viewer]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = r.out;
    expect(out).toMatch(new RegExp(`^rollout watch \\(release ${RELEASE}\\), statements v1\\n`));
    expect(out).toContain('\nstate     running, stage 1 of 2 (qa 100.00%)\n');
    expect(out).toMatch(/\neligible {2}3 \(census of \S+; never below offered\)\n/);
    expect(out).toContain('\noffered   3\nreported  2\n');
    expect(out).toContain('\nfailure   50.00% (1 of 2 terminal reports); halts above 20.00% once 5 terminal, 3 more before it can\n');
    // counts per latest state: one header row, one row of numbers
    const counts = out.slice(out.indexOf('latest state per device\n')).split('\n').slice(1, 3);
    expect(counts[0]?.trim().split(/\s+/)).toEqual(['RECEIVED', 'DOWNLOADING', 'DOWNLOADED', 'INSTALLING', 'APPLIED', 'FAILED', 'ROLLED_BACK', 'REJECTED', 'DECLINED', 'TIMED_OUT', 'CANCELLED']);
    expect(counts[1]?.trim().split(/\s+/).map(Number)).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect(out).toMatch(/\n {2}STAGE\s+COHORT\s+PERCENT\s+REACHED\s+ELIGIBLE\s+OFFERED\s+REPORTED\s+SILENT\n {2}\s*1\s+qa\s+100\.00%\s+yes\s+3\s+3\s+2\s+1\n {2}\s*2\s+all\s+0\.00%\s+no\s+0\s+0\s+0\s+0\n/);
    expect(out).toMatch(/\n {2}KEY\s+VALUE\s+SOURCE\s+DEVICES\n {2}cloud\.messaging\.enabled\s+false\s+default\s+1\n {2}\s+true\s+user\s+1\n/);
    expect(out).toContain("\n  consent settings on without the user's choice: 0\n");
    expect(out).toMatch(/\nsilent devices \(offered, nothing reported; first 1\)\n {2}DEVICE\s+STAGE\s+OFFERED AT\s+LAST SEEN\n {2}dev-c\s+1\s+2026-11-24T12:00:00Z\s+2026-11-24T12:00:00Z\n$/);

    const json = await ota(['rollout', 'status', 'watch', '--json', '--server', s.url, '--token', s.tokens.viewer]);
    expect(json.code).toBe(0);
    const api = await request(s.app).get('/v1/rollouts/watch/status').set(bearer(s.tokens.viewer));
    expect(api.status).toBe(200);
    expect(JSON.parse(json.out)).toEqual(api.body);
    expect(await ota(['rollout', 'status', 'ghost', ...at])).toMatchObject({ code: 1, err: 'ota: not_found: no rollout ghost\n' });
  });
});

describe('ota rollout halt --reason, and reasons the server would refuse (issue 18)', () => {
  it('halt keeps its reason on lastHalt and in the audit log; a bad reason is named (length, blanks) before anything is sent', async () => {
    const { s, at } = await fleet();
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'why', '--stage', 'qa:100', ...POLICY_FLAGS, ...at])).code).toBe(0);
    expect((await ota(['rollout', 'start', 'why', ...at])).code).toBe(0);
    const state = async () => ((await request(s.app).get('/v1/rollouts/why').set(bearer(s.tokens.viewer))).body as { state: string }).state;
    // The rule is the server's (manifests/schema/api/rollout-action.schema.json): 3 to 500 characters, not only blanks.
    expect(await ota(['rollout', 'halt', 'why', '--reason', 'no', ...at])).toMatchObject({ code: 1, out: '', err: 'ota: --reason must be 3 to 500 characters, got 2\n' });
    expect(await ota(['rollout', 'halt', 'why', '--reason', '    ', ...at])).toMatchObject({ code: 1, err: 'ota: --reason must say something: it is only blanks\n' });
    expect(await state()).toBe('running');

    const halted = await ota(['rollout', 'halt', 'why', '--reason', 'crash reports from the lab', '--server', s.url, '--token', s.tokens.qa]);
    expect(halted).toMatchObject({ code: 0, out: `rollout why (release ${RELEASE}): halted, stage 1 of 1 (qa 100.00%)\n`, err: '' });
    const view = (await request(s.app).get('/v1/rollouts/why').set(bearer(s.tokens.viewer))).body as { lastHalt: Record<string, unknown> };
    expect(view.lastHalt).toMatchObject({ actor: 'operator:test-qa(qa)', reason: 'crash reports from the lab', figures: null });
    const audit = (await request(s.app).get('/v1/audit?subject=why').set(bearer(s.tokens.viewer))).body as { entries: { action: string; details: Record<string, unknown> }[] };
    expect(audit.entries.find((e) => e.action === 'rollout.halt')?.details).toMatchObject({ reason: 'crash reports from the lab' });
    expect((await ota(['rollout', 'status', 'why', ...at])).out).toContain('  why: reason given: crash reports from the lab\n');

    // Resuming it: a reason that is merely too short (or long) says so, not "needs --reason TEXT".
    expect(await ota(['rollout', 'resume', 'why', '--acknowledge-halt', '--reason', 'ok', ...at])).toMatchObject({ code: 1, out: '', err: 'ota: --reason must be 3 to 500 characters, got 2\n' });
    expect((await ota(['rollout', 'resume', 'why', '--acknowledge-halt', '--reason', 'x'.repeat(501), ...at])).err).toBe('ota: --reason must be 3 to 500 characters, got 501\n');
    expect((await ota(['rollout', 'resume', 'why', '--acknowledge-halt', ...at])).err).toBe('ota: --acknowledge-halt needs --reason TEXT: why it is safe to go on (kept in the audit log)\n');
    expect(await state()).toBe('halted');
    expect(await ota(['rollout', 'resume', 'why', '--acknowledge-halt', '--reason', 'lab fixed', ...at])).toMatchObject({ code: 0, out: `rollout why (release ${RELEASE}): running, stage 1 of 1 (qa 100.00%)\n` });
  });

  it('pause, advance and cancel take a --reason too, kept in their audit entries', async () => {
    const { s, at } = await fleet();
    expect((await ota(['rollout', 'create', '--release', RELEASE, '--id', 'told', '--stage', 'qa:100', 'all:100', ...POLICY_FLAGS, ...at])).code).toBe(0);
    expect((await ota(['rollout', 'start', 'told', '--reason', 'qa signed off', ...at])).code).toBe(0);
    expect((await ota(['rollout', 'pause', 'told', '--reason', 'weekend freeze', ...at])).code).toBe(0);
    expect((await ota(['rollout', 'resume', 'told', ...at])).code).toBe(0);
    expect((await ota(['rollout', 'advance', 'told', '--reason', 'lab ring is clean', ...at])).code).toBe(0);
    expect(await ota(['rollout', 'cancel', 'told', '--reason', 'no', ...at])).toMatchObject({ code: 1, err: 'ota: --reason must be 3 to 500 characters, got 2\n' });
    expect((await ota(['rollout', 'cancel', 'told', '--reason', 'superseded by 1.4.3', ...at])).code).toBe(0);
    const audit = (await request(s.app).get('/v1/audit?subject=told').set(bearer(s.tokens.viewer))).body as { entries: { action: string; details: Record<string, unknown> }[] };
    const reasons = Object.fromEntries(audit.entries.filter((e) => e.details.reason !== undefined).map((e) => [e.action, e.details.reason]));
    expect(reasons).toEqual({ 'rollout.start': 'qa signed off', 'rollout.pause': 'weekend freeze', 'rollout.advance': 'lab ring is clean', 'rollout.cancel': 'superseded by 1.4.3' });
  });
});
