import { describe, expect, it } from 'vitest';
import { lifecycleAllowed, type LifecycleAction } from '../../server/auth/lifecycle-permissions.js';
import { OPERATOR_ROLES } from '../../server/auth/principal.js';
import { chartMarkers, rateSeries, utcTickLabels } from '../../server/dashboard/web/src/chart-time.js';
import { policyOf } from '../../server/dashboard/web/src/failure-policy-form.js';
import { naturalCompare } from '../../server/dashboard/web/src/format.js';
import { meaningOf } from '../../server/dashboard/web/src/report-tones.js';
import type { AuditEntry, TimelinePoint } from '../../server/dashboard/web/src/types.js';

/** issue 18: the dashboard's pure display rules, apart from the browser. */
describe('device ids in natural order (issue 18)', () => {
  it('orders runs of digits by value: sim-9-4 before sim-9-12', () => {
    const ids = ['sim-9-12', 'sim-10-1', 'sim-9-4', 'sim-9-30', 'sim-9-3a', 'bench-2', 'sim-9-3', 'sim-9', 'sim-09-5'];
    expect([...ids].sort(naturalCompare)).toEqual(['bench-2', 'sim-9', 'sim-9-3', 'sim-9-3a', 'sim-9-4', 'sim-09-5', 'sim-9-12', 'sim-9-30', 'sim-10-1']);
  });

  it('compares numbers longer than a double holds, and is 0 only for equal ids', () => {
    expect(naturalCompare('d-123456789012345678901', 'd-123456789012345678902')).toBeLessThan(0);
    expect(naturalCompare('d-99999999999999999999', 'd-100000000000000000000')).toBeLessThan(0);
    expect(naturalCompare('d-007', 'd-7')).not.toBe(0);
    expect(naturalCompare('x', 'x')).toBe(0);
  });
});

describe('the failure chart\'s time axis and marks (issue 18)', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;

  it('labels ticks in UTC: HH:MM:SS inside a minute, HH:MM on whole minutes, MM-DD when they cross a day', () => {
    expect(utcTickLabels([at('2026-11-24T12:00:00Z'), at('2026-11-24T12:00:05Z'), at('2026-11-24T12:00:10Z')])).toEqual(['12:00:00', '12:00:05', '12:00:10']);
    expect(utcTickLabels([at('2026-11-24T12:00:00Z'), at('2026-11-24T12:05:00Z')])).toEqual(['12:00', '12:05']);
    expect(utcTickLabels([at('2026-11-24T23:00:00Z'), at('2026-11-25T01:00:00Z')])).toEqual(['11-24 23:00', '11-25 01:00']);
  });

  it('marks each halt and each resume that overruled one, oldest first; a paused rollout resumed is no mark', () => {
    const entry = (seq: number, action: string, iso: string, details: Record<string, unknown> = {}) =>
      ({ seq, at: iso, actor: `a${seq}`, action, subject: 'r', details, prevHash: '', hash: '' }) as unknown as AuditEntry;
    // Newest first, as the rollout page reads them.
    const history = [
      entry(7, 'rollout.resume', '2026-11-24T12:09:00Z', { from: { state: 'halted', stage: 0 } }),
      // A halt and its resume in the same second: audit order decides.
      entry(6, 'rollout.halt', '2026-11-24T12:09:00Z'),
      entry(5, 'rollout.resume', '2026-11-24T12:09:00Z', { from: { state: 'halted', stage: 0 } }),
      entry(4, 'rollout.halt', '2026-11-24T12:05:30Z', { reason: 'failure rate 4000bp over 2000bp' }),
      entry(3, 'rollout.resume', '2026-11-24T12:03:00Z', { from: { state: 'paused', stage: 0 } }),
      entry(2, 'rollout.pause', '2026-11-24T12:02:00Z'),
      entry(1, 'rollout.start', '2026-11-24T12:00:00Z'),
    ];
    expect(chartMarkers(history)).toEqual([
      { kind: 'halt', at: at('2026-11-24T12:05:30Z'), actor: 'a4' },
      { kind: 'resume', at: at('2026-11-24T12:09:00Z'), actor: 'a5' },
      { kind: 'halt', at: at('2026-11-24T12:09:00Z'), actor: 'a6' },
      { kind: 'resume', at: at('2026-11-24T12:09:00Z'), actor: 'a7' },
    ]);
  });
});

describe('the failure chart\'s lines', () => {
  const point = (at: string, rateBasisPoints: number) => ({ at, terminalDelta: 1, failuresDelta: 0, terminal: 1, failures: 0, rateBasisPoints }) as TimelinePoint;
  const t = (iso: string) => Date.parse(iso) / 1000;

  it('puts each rate at the end of its interval, draws a lone interval across its length, and carries the rate to each mark', () => {
    expect(rateSeries([point('2026-11-24T12:00:00Z', 0), point('2026-11-24T12:00:05Z', 2500)], 5, [])).toEqual({
      xs: [t('2026-11-24T12:00:05Z'), t('2026-11-24T12:00:10Z')],
      rate: [0, 25],
    });
    expect(rateSeries([point('2026-11-24T12:00:00Z', 4000)], 1, [])).toEqual({ xs: [t('2026-11-24T12:00:00Z'), t('2026-11-24T12:00:01Z')], rate: [40, 40] });
    const marks = [
      { kind: 'halt' as const, at: t('2026-11-24T11:59:00Z'), actor: 'a' },
      { kind: 'halt' as const, at: t('2026-11-24T12:00:10Z'), actor: 'a' },
      { kind: 'resume' as const, at: t('2026-11-24T12:30:00Z'), actor: 'b' },
    ];
    expect(rateSeries([point('2026-11-24T12:00:00Z', 0), point('2026-11-24T12:00:05Z', 2500)], 5, marks)).toEqual({
      xs: [t('2026-11-24T11:59:00Z'), t('2026-11-24T12:00:05Z'), t('2026-11-24T12:00:10Z'), t('2026-11-24T12:30:00Z')],
      rate: [null, 0, 25, 25],
    });
  });
});

describe('report-state bars say what a state means (issue 18)', () => {
  it.each([
    ['applied', 'good', 'success'],
    ['failed', 'bad', 'failure'],
    ['rolled_back', 'bad', 'failure'],
    ['rejected', 'bad', 'failure'],
    ['timed_out', 'bad', 'failure'],
    ['received', 'progress', 'in progress'],
    ['installing', 'progress', 'in progress'],
    ['silent', 'idle', 'no report'],
    ['declined', 'idle', 'declined, not a failure'],
    ['cancelled', 'idle', 'withdrawn, not a failure'],
  ])('%s: %s, "%s"', (state, tone, words) => {
    expect(meaningOf(state)).toMatchObject({ tone, words });
  });
});

describe('fleet-lifecycle actions shown to the roles the routes allow (protocol §7)', () => {
  const ACTIONS: LifecycleAction[] = ['decommission', 'cancel-update', 'withdraw-release', 'failure-policy'];
  it.each(OPERATOR_ROLES.map((role) => [role, role === 'admin' || role === 'release-manager'] as const))('%s may: %s', (role, may) => {
    for (const action of ACTIONS) expect(lifecycleAllowed(role, action), action).toBe(may);
  });
});

describe('the failure-policy form', () => {
  it('turns a percentage into basis points and refuses what is not a number', () => {
    expect(policyOf({ thresholdPercent: ' 2.5 ', minTerminalReports: '20', reportTimeoutSeconds: '3600' })).toEqual({
      policy: { maxFailureBasisPoints: 250, minTerminalReports: 20, reportTimeoutSeconds: 3600 },
    });
    expect(policyOf({ thresholdPercent: '0.07', minTerminalReports: '1', reportTimeoutSeconds: '1' })).toMatchObject({ policy: { maxFailureBasisPoints: 7 } });
    for (const bad of [
      { thresholdPercent: '5%', minTerminalReports: '20', reportTimeoutSeconds: '60' },
      { thresholdPercent: '1.234', minTerminalReports: '20', reportTimeoutSeconds: '60' },
      { thresholdPercent: '5', minTerminalReports: '2.5', reportTimeoutSeconds: '60' },
      { thresholdPercent: '5', minTerminalReports: '20', reportTimeoutSeconds: '' },
    ]) expect(policyOf(bad)).toHaveProperty('problem');
  });
});
