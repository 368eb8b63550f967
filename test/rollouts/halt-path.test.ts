import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollout } from '../../server/rollouts/rollout.js';
import { ota } from '../cli/cli-harness.js';
import { api, publishOptinRelease, startLiveServer, startRollout, type LiveServer } from '../fleet/live-server.js';
import { apiContract } from '../helpers/api-contract.js';
import { bearer } from '../helpers/fixtures.js';
import { scenario } from './scenario.js';

/**
 * protocol §5 (amended), end to end over real HTTP: a fleet fails, the
 * rollout halts itself, every watching command says so with the figures
 * and the next commands; resume needs the acknowledgement and a reason,
 * keeps the counts and re-signs; clone starts over with a new salt.
 */
describe('after a halt: say it, overrule it on the record, or start over', () => {
  let s: LiveServer;
  const ID = 'halt-path';
  const rm = () => ['--server', s.url, '--token', s.tokens['release-manager']];

  beforeAll(async () => {
    s = await startLiveServer();
    await publishOptinRelease(s);
    await startRollout(s, { id: ID, releaseId: 'redmi-1s-optin', stages: [{ cohort: 'all', basisPoints: 10000 }],
      failurePolicy: { maxFailureBasisPoints: 500, minTerminalReports: 10, reportTimeoutSeconds: 3600 } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('fleet simulate, rollout status and qa verify say it halted, why, and what to run next', async () => {
    const sim = await ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--token', s.tokens.viewer, '--root', s.rootFile,
      '--devices', '40', '--fail-rate', '0.5', '--duration', '45', '--until-settled', '--drain', '5', '--seed', 'halt', '--progress', 'none']);
    expect(sim.code, sim.err).toBe(0);
    expect(sim.out).toContain(`HALTED: rollout ${ID} was halted automatically at `);
    expect(sim.out).toMatch(/ {2}why: failure rate \d+\.\d\d% above the 5\.00% threshold after \d+ terminal reports; \d+ of \d+ terminal reports failed \(failed \d+\)/);
    expect(sim.out).toContain(`ota rollout resume ${ID} --acknowledge-halt --reason "TEXT"`);
    expect(sim.out).toContain(`ota rollout clone ${ID} --id NEW-ID`);
    expect(sim.out).toContain(`ota rollout devices ${ID} --state failed`);

    const json = await ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--token', s.tokens.viewer, '--root', s.rootFile,
      '--devices', '2', '--duration', '1', '--drain', '1', '--seed', 'halt-2', '--progress', 'none', '--json']);
    expect(json.code, json.err).toBe(0);

    const status = await ota(['rollout', 'status', ID, '--server', s.url, '--token', s.tokens.qa]);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain(`HALTED: rollout ${ID} was halted automatically`);
    expect(status.out).toMatch(/audit entry #\d+/);

    const qa = await ota(['qa', 'verify', '--server', s.url, '--token', s.tokens.qa, '--root', s.rootFile, '--rollout', ID, '--sample', '10']);
    expect(qa.out).toContain(`HALTED: rollout ${ID} was halted automatically`);
    expect(qa.out).toContain('next steps:');
  }, 60_000);

  it('resume without the acknowledgement is 409 saying what to send; bad bodies are 400 and change nothing', async () => {
    const before = (await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.viewer)).body;
    expect(before.state).toBe('halted');
    const plain = await ota(['rollout', 'resume', ID, ...rm()]);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain('ota: invalid_transition: cannot resume a halted rollout: a halt must be acknowledged: send {"acknowledgeHalt": true, "reason": "<why it is safe to go on>"}');
    expect(plain.err).toContain('--acknowledge-halt --reason TEXT');

    const token = s.tokens['release-manager'];
    const path = `/v1/rollouts/${ID}/resume`;
    for (const body of [{ acknowledgeHalt: true }, { reason: 'fine now' }, { acknowledgeHalt: false, reason: 'fine now' }, { acknowledgeHalt: true, reason: 'x'.repeat(501) },
      { acknowledgeHalt: true, reason: '   ' }, { acknowledgeHalt: true, reason: 'ok go', extra: 1 }]) {
      const res = await api(s, 'POST', path, token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await api(s, 'POST', path, s.tokens.qa, { acknowledgeHalt: true, reason: 'qa may not' })).status).toBe(403);
    expect((await ota(['rollout', 'resume', ID, '--acknowledge-halt', ...rm()])).err).toMatch(/^ota: --acknowledge-halt needs --reason TEXT/);
    expect((await ota(['rollout', 'resume', ID, '--reason', 'because', ...rm()])).err).toMatch(/^ota: --reason goes with --acknowledge-halt/);
    expect((await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.viewer)).body).toEqual(before);
  });

  it('resume --acknowledge-halt --reason: running again, counts kept, statements re-signed, the reason audit-logged', async () => {
    const before = (await api(s, 'GET', `/v1/rollouts/${ID}/status`, s.tokens.qa)).body;
    const halted = (await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.qa)).body;
    const r = await ota(['rollout', 'resume', ID, '--acknowledge-halt', '--reason', 'install failures were a lab power cut', ...rm()]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^rollout ${ID} \\(release redmi-1s-optin\\): running, stage 1 of 1`));
    expect(r.err).toMatch(/^halt overruled on the record \(audit entry #\d+, with your reason\); the terminal counts are kept/);
    const after = (await api(s, 'GET', `/v1/rollouts/${ID}/status`, s.tokens.qa)).body;
    expect(after.state).toBe('running');
    expect(after.counts).toEqual(before.counts);
    expect(after.failure).toMatchObject({ terminal: before.failure.terminal, failures: before.failure.failures, sinceOverruled: { terminal: 0, failures: 0, rateBasisPoints: 0 } });
    expect(after.statementVersion).toBeGreaterThan(halted.statementVersion);
    expect(after.overruledHalt).toMatchObject({ reason: 'install failures were a lab power cut', terminal: before.failure.terminal, failures: before.failure.failures });
    expect(after.lastHalt).toEqual(halted.lastHalt);

    const rollout = (await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.qa)).body;
    expect(rollout.statements).toHaveLength(1);
    expect(rollout.statements[0].signed.version).toBe(after.statementVersion);

    const audit = (await api(s, 'GET', '/v1/audit?limit=1000', s.tokens.qa)).body.entries as { action: string; subject: string; actor: string; details: Record<string, unknown> }[];
    const resume = audit.filter((e) => e.action === 'rollout.resume' && e.subject === ID).at(-1);
    expect(resume?.actor).toBe('operator:test-release-manager(release-manager)');
    expect(resume?.details).toMatchObject({ from: { state: 'halted' }, to: { state: 'running' }, acknowledgeHalt: true, reason: 'install failures were a lab power cut',
      overruled: { haltAuditSeq: halted.lastHalt.auditSeq, haltedBy: 'system:auto-halt' }, keptFigures: { terminal: before.failure.terminal, failures: before.failure.failures } });

    const status = await ota(['rollout', 'status', ID, '--server', s.url, '--token', s.tokens.qa]);
    expect(status.out).not.toContain('HALTED');
    expect(status.out).toContain('overruled a halt at ');
    expect(status.out).toContain('"install failures were a lab power cut"; since then 0 of 0 terminal reports failed');

    // New failures after the overrule halt it again once min-terminal is reached among them alone.
    const sim = await ota(['fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--token', s.tokens.viewer, '--root', s.rootFile,
      '--devices', '30', '--fail-rate', '0.6', '--duration', '45', '--until-settled', '--drain', '5', '--seed', 'again', '--progress', 'none']);
    expect(sim.code, sim.err).toBe(0);
    const again = (await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.qa)).body;
    expect(again.state).toBe('halted');
    expect(again.lastHalt.reason).toMatch(/since the halt was overruled at /);
    expect(again.lastHalt.figures.sinceOverruled.terminal).toBeGreaterThanOrEqual(10);
    // The halt record, figures since the overrule included, is what the contract says: qa verify reads it.
    apiContract().check('GET', `/v1/rollouts/${ID}`, 200, 'application/json', again);
    const qa = await ota(['qa', 'verify', '--server', s.url, '--token', s.tokens.qa, '--root', s.rootFile, '--rollout', ID, '--sample', '10']);
    expect(qa.err).not.toContain('is not what protocol');
    expect(qa.out).toContain(`HALTED: rollout ${ID} was halted automatically`);
  }, 60_000);

  it('clone: a fresh draft with the same release, stages and failure policy, and a new salt', async () => {
    const source = (await api(s, 'GET', `/v1/rollouts/${ID}`, s.tokens.viewer)).body;
    const r = await ota(['rollout', 'clone', ID, '--id', 'halt-path-2', '--json', ...rm()]);
    expect(r.code, r.err).toBe(0);
    const clone = JSON.parse(r.out);
    expect(clone).toMatchObject({ id: 'halt-path-2', releaseId: source.releaseId, stages: source.stages, failurePolicy: source.failurePolicy, state: 'draft', lastHalt: null, overruledHalt: null });
    expect(clone.salt).not.toBe(source.salt);
    expect((await ota(['rollout', 'clone', ID, '--id', 'halt-path-2', ...rm()])).err).toBe('ota: conflict: rollout halt-path-2 already exists\n');
    expect((await ota(['rollout', 'clone', 'ghost', ...rm()])).err).toBe('ota: not_found: no rollout ghost\n');
    expect((await api(s, 'POST', `/v1/rollouts/${ID}/clone`, s.tokens['release-manager'], { id: 'Bad Id' })).status).toBe(400);
    const plain = await ota(['rollout', 'clone', ID, ...rm()]);
    expect(plain.out).toMatch(/^created rollout redmi-1s-optin-[0-9a-f]{8} \(release redmi-1s-optin\): draft, 1 stage: all 100\.00%\n$/);
    expect(plain.err).toMatch(/^start it with: ota rollout start redmi-1s-optin-[0-9a-f]{8}\n$/);
    // The halted original serves nothing, so its clone may start.
    expect((await ota(['rollout', 'start', 'halt-path-2', ...rm()])).code).toBe(0);
    // A paused rollout resumes as before; an acknowledgement sent to it overrules nothing.
    expect((await ota(['rollout', 'pause', 'halt-path-2', ...rm()])).code).toBe(0);
    const paused = await ota(['rollout', 'resume', 'halt-path-2', '--acknowledge-halt', '--reason', 'not halted', ...rm()]);
    expect(paused).toMatchObject({ code: 0, err: '' });
    expect((await api(s, 'GET', '/v1/rollouts/halt-path-2', s.tokens.viewer)).body).toMatchObject({ state: 'running', overruledHalt: null });
    const audit = (await api(s, 'GET', '/v1/audit?limit=1000', s.tokens.qa)).body.entries as { action: string; subject: string; details: Record<string, unknown> }[];
    expect(audit.find((e) => e.action === 'rollout.create' && e.subject === 'halt-path-2')?.details.clonedFrom).toBe(ID);
  });
});

describe('a rollout halted before halts were kept on it (migration 004)', () => {
  it('resumes with the acknowledgement, and the audit entry still carries the reason and the kept figures', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }] });
    const r = (await s.f.ctx.rollouts.get(s.rolloutId)) as Rollout;
    await s.f.ctx.rollouts.update({ ...r, state: 'halted', lastHalt: null });
    const res = await request(s.f.app).post(`/v1/rollouts/${s.rolloutId}/resume`).set(bearer(s.f.tokens['release-manager'])).send({ acknowledgeHalt: true, reason: 'legacy halt, checked by hand' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ state: 'running', lastHalt: null, overruledHalt: { reason: 'legacy halt, checked by hand', terminal: 0, failures: 0 } });
    const entry = (await s.f.ctx.audit.page(0, 100)).filter((e) => e.action === 'rollout.resume').at(-1);
    expect(entry?.details).toMatchObject({ acknowledgeHalt: true, reason: 'legacy halt, checked by hand', overruled: null, keptFigures: { terminal: 0, failures: 0, rateBasisPoints: 0 } });
  });
});

describe('a manual halt keeps its reason', () => {
  it('QA halts with { reason }: the rollout and the audit log carry it; other bodies are refused and change nothing', async () => {
    const s = await scenario();
    const post = (action: string, body?: unknown) => {
      const r = request(s.f.app).post(`/v1/rollouts/${s.rolloutId}/${action}`).set(bearer(s.f.tokens.qa));
      return body === undefined ? r : r.send(body as object);
    };
    for (const bad of [{ foo: 1 }, [1, 2], { reason: '' }, { reason: 'x'.repeat(501) }, { reason: 'ok reason', acknowledgeHalt: true }]) {
      const res = await post('halt', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((res.body as { error: { code: string } }).error.code).toBe('validation_failed');
    }
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.state).toBe('running');
    const halted = await post('halt', { reason: 'crash reports from the field on 1.4.3' });
    expect(halted.status).toBe(200);
    expect((halted.body as Rollout).lastHalt).toMatchObject({ actor: 'operator:test-qa(qa)', reason: 'crash reports from the field on 1.4.3' });
    const audit = (await s.f.ctx.sql.value("SELECT details FROM audit_log WHERE action = 'rollout.halt'")) as string;
    expect(JSON.parse(audit)).toMatchObject({ reason: 'crash reports from the field on 1.4.3' });
  });
});
