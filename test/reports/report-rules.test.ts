import { describe, expect, it } from 'vitest';
import { failureFigures, figuresSince, REPORT_STATES, refuseTransition, type DeviceState, type ReportState } from '../../server/protocol/report-rules.js';
import { shouldHalt } from '../../server/rollouts/auto-halt.js';

/**
 * Issue 3 §6: forward-only transitions against the device's own history.
 * Written out by hand: for each current state, the report states that may
 * follow it. Progress only moves forward; any terminal state may end
 * progress; `applied → rolled_back` is the one move out of `applied`;
 * after an unsuccessful end (or a derived `timed_out`) a new attempt may
 * begin; repeating the current state is harmless.
 */
const ALL: ReportState[] = ['received', 'downloading', 'downloaded', 'installing', 'applied', 'failed', 'rolled_back', 'rejected', 'declined'];
const ENDINGS: ReportState[] = ['applied', 'failed', 'rolled_back', 'rejected', 'declined'];
const ALLOWED: Record<string, ReportState[]> = {
  none: ALL,
  received: ALL,
  downloading: ['downloading', 'downloaded', 'installing', ...ENDINGS],
  downloaded: ['downloaded', 'installing', ...ENDINGS],
  installing: ['installing', ...ENDINGS],
  applied: ['applied', 'rolled_back'],
  // An unsuccessful end leaves the device eligible, so it is offered again: a new attempt may begin.
  failed: ALL,
  rolled_back: ALL,
  rejected: ALL,
  declined: ALL,
  timed_out: ALL,
};

const table = Object.entries(ALLOWED).flatMap(([from, allowed]) =>
  ALL.map((to) => ({ from, to, allowed: allowed.includes(to) })),
);

describe('refuseTransition: the (current state × reported state) table', () => {
  it('the table covers every report state and timed_out as a current state', () => {
    expect([...REPORT_STATES].sort()).toEqual([...ALL].sort());
    expect(Object.keys(ALLOWED).sort()).toEqual([...ALL, 'none', 'timed_out'].sort());
  });

  it.each(table)('$from → $to: allowed=$allowed', ({ from, to, allowed }) => {
    const why = refuseTransition(from === 'none' ? null : (from as DeviceState), to);
    if (allowed) expect(why).toBeUndefined();
    else {
      expect(typeof why).toBe('string');
      expect(why).toContain(from);
    }
  });
});

const figures = (byState: Partial<Record<DeviceState, number>>) => failureFigures((s) => byState[s] ?? 0);

describe('failureFigures', () => {
  it('counts applied, failed, rolled_back, rejected and timed_out as terminal; all but applied as failures; progress and declined as neither', () => {
    const f = figures({ received: 7, downloading: 5, downloaded: 3, installing: 2, declined: 11, applied: 10, failed: 1, rolled_back: 2, rejected: 3, timed_out: 4 });
    expect(f.terminal).toBe(10 + 1 + 2 + 3 + 4);
    expect(f.failures).toBe(1 + 2 + 3 + 4);
    expect(f.byState).toEqual({ applied: 10, failed: 1, rolled_back: 2, rejected: 3, timed_out: 4 });
  });
});

describe('shouldHalt boundaries (protocol §5: failures / terminal > max/10000, once terminal >= minTerminalReports)', () => {
  const policy = (maxFailureBasisPoints: number, minTerminalReports: number) => ({ maxFailureBasisPoints, minTerminalReports });

  it.each([
    ['exactly at the threshold does not halt (2/10 = 2000bp)', { applied: 8, failed: 2 }, policy(2000, 5), false],
    ['just above halts (3/10 = 3000bp > 2000bp)', { applied: 7, failed: 3 }, policy(2000, 5), true],
    ['one failure over the line in a large fleet halts (2001/10000)', { applied: 7999, failed: 2001 }, policy(2000, 5), true],
    ['exactly at the line in a large fleet does not (2000/10000)', { applied: 8000, failed: 2000 }, policy(2000, 5), false],
    ['a third is above 3333bp (integer maths, no float rounding)', { applied: 2, failed: 1 }, policy(3333, 1), true],
    ['a third is not above 3334bp', { applied: 2, failed: 1 }, policy(3334, 1), false],
    ['below minTerminalReports never halts, even at 100% failures', { failed: 4 }, policy(2000, 5), false],
    ['reaching minTerminalReports exactly counts', { failed: 5 }, policy(2000, 5), true],
    ['non-terminal states do not count towards minTerminalReports', { failed: 4, downloading: 100, declined: 100 }, policy(2000, 5), false],
    ['timed_out counts as terminal and as a failure', { applied: 2, timed_out: 3 }, policy(5000, 5), true],
    ['rolled_back and rejected are failures', { applied: 5, rolled_back: 3, rejected: 2 }, policy(4999, 10), true],
    ['max 0bp: any failure halts', { applied: 99, failed: 1 }, policy(0, 100), true],
    ['max 0bp: no failure, no halt', { applied: 100 }, policy(0, 100), false],
    ['max 10000bp: never halts', { failed: 100 }, policy(10000, 1), false],
    ['nothing reported never halts', {}, policy(0, 1), false],
  ] as const)('%s', (_what, byState, p, expected) => {
    expect(shouldHalt(figures(byState), p)).toBe(expected);
  });
});

describe('figuresSince: after an acknowledged resume auto-halt judges only later reports (protocol §5)', () => {
  it.each([
    ['no overrule: the figures as they are', { applied: 8, failed: 2 }, null, { terminal: 10, failures: 2 }],
    ['the counts at the resume are left out', { applied: 8, failed: 12 }, { terminal: 15, failures: 10 }, { terminal: 5, failures: 2 }],
    ['nothing since the resume', { applied: 5, failed: 10 }, { terminal: 15, failures: 10 }, { terminal: 0, failures: 0 }],
    ['a retried failure that now applied never goes below zero', { applied: 6, failed: 9 }, { terminal: 15, failures: 10 }, { terminal: 0, failures: 0 }],
  ] as const)('%s', (_what, byState, base, expected) => {
    expect(figuresSince(figures(byState), base)).toEqual(expected);
  });

  it('the halt after an overrule needs minTerminalReports of its own', () => {
    const base = { terminal: 100, failures: 60 };
    expect(shouldHalt(figuresSince(figures({ applied: 40, failed: 64 }), base), { maxFailureBasisPoints: 500, minTerminalReports: 5 })).toBe(false);
    expect(shouldHalt(figuresSince(figures({ applied: 40, failed: 65 }), base), { maxFailureBasisPoints: 500, minTerminalReports: 5 })).toBe(true);
  });
});
