import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, poll, publish, report } from '../helpers/fleet.js';
import { sample, seriesOf } from './prom-text.js';

const RELEASE_ID = 'redmi-1s-cloud-optin-2014-08';

async function scrape(f: AppFixture): Promise<string> {
  const res = await request(f.app).get('/metrics').set(bearer(f.tokens.viewer));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.text;
}

const reportBody = (f: AppFixture, rolloutId: string, seq: number, state: string) => ({ seq, releaseId: RELEASE_ID, rolloutId, state, at: toTimestamp(f.clock.now) });

describe('/metrics: what the fleet does (docs/operations.md)', () => {
  it('rollout state, stage, offers, reports, failure rate, auto-halts, devices, backlog, commits and statement expiry move', async () => {
    const f = await makeApp();
    await publish(f);
    // Halts once failures pass 40% of at least 2 terminal reports.
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 4000, minTerminalReports: 2, reportTimeoutSeconds: 3600 } });
    let text = await scrape(f);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'draft' })).toBe(1);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'running' })).toBe(0);
    expect(sample(text, 'ota_rollouts', { state: 'draft' })).toBe(1);
    expect(sample(text, 'ota_devices_enrolled')).toBe(0);
    expect(sample(text, 'ota_rollout_statement_expiry_seconds', { rollout: id })).toBeUndefined();

    expect((await act(f, id, 'start')).status).toBe(200);
    const tokens = { a: await enroll(f.app, f.tokens.enroller, 'dev-a'), b: await enroll(f.app, f.tokens.enroller, 'dev-b') };
    for (const [d, t] of Object.entries(tokens)) expect((await poll(f.app, `dev-${d}`, t)).status).toBe(200);
    await f.ctx.census.run();
    text = await scrape(f);
    expect(sample(text, 'ota_rollout_eligible_devices', { rollout: id })).toBe(2);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'running' })).toBe(1);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'draft' })).toBe(0);
    expect(sample(text, 'ota_rollout_stage', { rollout: id })).toBe(0);
    expect(sample(text, 'ota_devices_enrolled')).toBe(2);
    expect(sample(text, 'ota_device_enrollments_total', { kind: 'new' })).toBe(2);
    // Each device's first poll read it from the store and cached it.
    expect(sample(text, 'ota_device_cache_entries')).toBe(2);
    expect(sample(text, 'ota_device_cache_lookups_total', { result: 'miss' })).toBe(2);
    expect(sample(text, 'ota_device_cache_lookups_total', { result: 'hit' })).toBe(0);
    expect(sample(text, 'ota_device_cache_refusals_total')).toBe(0);
    // Offers and last-seen wait in the write-behind buffer until it flushes.
    expect(sample(text, 'ota_write_behind_backlog')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'ota_rollout_offered_devices', { rollout: id })).toBe(0);
    // Statements live 1 h by default; the fixture clock does not move.
    expect(sample(text, 'ota_rollout_statement_expiry_seconds', { rollout: id })).toBe(3600);
    expect(sample(text, 'ota_rollout_failure_threshold_ratio', { rollout: id })).toBe(0.4);

    await f.ctx.activity.flushAll();
    f.clock.now = new Date(f.clock.now.getTime() + 600_000);
    expect((await report(f.app, 'dev-a', tokens.a, reportBody(f, id, 1, 'applied'))).status).toBe(200);
    text = await scrape(f);
    expect(sample(text, 'ota_write_behind_backlog')).toBe(0);
    expect(sample(text, 'ota_rollout_offered_devices', { rollout: id })).toBe(2);
    expect(sample(text, 'ota_rollout_devices', { rollout: id, state: 'applied' })).toBe(1);
    expect(sample(text, 'ota_rollout_devices', { rollout: id, state: 'failed' })).toBe(0);
    expect(sample(text, 'ota_rollout_terminal_reports', { rollout: id })).toBe(1);
    expect(sample(text, 'ota_rollout_failure_ratio', { rollout: id })).toBe(0);
    expect(sample(text, 'ota_rollout_statement_expiry_seconds', { rollout: id })).toBe(3000);
    expect(sample(text, 'ota_group_commit_seconds_count')).toBeGreaterThanOrEqual(3); // two enrollments and a report
    expect(sample(text, 'ota_rollout_auto_halts_total')).toBe(0);

    // A failure makes it 1/2 = 50% > 40%: the rollout halts itself.
    expect((await report(f.app, 'dev-b', tokens.b, reportBody(f, id, 1, 'failed'))).status).toBe(200);
    text = await scrape(f);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'halted' })).toBe(1);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'running' })).toBe(0);
    expect(sample(text, 'ota_rollout_devices', { rollout: id, state: 'failed' })).toBe(1);
    expect(sample(text, 'ota_rollout_failure_ratio', { rollout: id })).toBe(0.5);
    expect(sample(text, 'ota_rollout_auto_halts_total')).toBe(1);
    expect(sample(text, 'ota_rollout_transitions_total', { action: 'halt', by: 'system' })).toBe(1);
    expect(sample(text, 'ota_rollout_transitions_total', { action: 'start', by: 'operator' })).toBe(1);
    expect(sample(text, 'ota_rollouts', { state: 'halted' })).toBe(1);
    // A halted rollout serves nothing: no statement to expire.
    expect(sample(text, 'ota_rollout_statement_expiry_seconds', { rollout: id })).toBeUndefined();
  });

  it('labels stay bounded: no device id in any series, and a rollout cancelled a day ago drops out', async () => {
    const f = await makeApp();
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 5, reportTimeoutSeconds: 3600 } });
    expect((await act(f, id, 'start')).status).toBe(200);
    const token = await enroll(f.app, f.tokens.enroller, 'device-label-probe');
    expect((await poll(f.app, 'device-label-probe', token)).status).toBe(200);
    await f.ctx.activity.flushAll();
    let text = await scrape(f);
    expect(text).not.toContain('device-label-probe');
    expect(seriesOf(text, 'ota_rollout_state')).toHaveLength(6);

    expect((await act(f, id, 'cancel')).status).toBe(200);
    text = await scrape(f);
    expect(sample(text, 'ota_rollout_state', { rollout: id, state: 'cancelled' })).toBe(1);
    f.clock.now = new Date(f.clock.now.getTime() + 25 * 3600 * 1000);
    text = await scrape(f);
    expect(seriesOf(text, 'ota_rollout_state')).toHaveLength(0);
    expect(sample(text, 'ota_rollouts', { state: 'cancelled' })).toBe(1);
  });
});
