import type { SettingSource, SettingValue } from './trust/settings-policy.js';

/** protocol §7 report states. */
export const REPORT_STATES = ['received', 'downloading', 'downloaded', 'installing', 'applied', 'failed', 'rolled_back', 'rejected', 'declined'] as const;
export type ReportState = (typeof REPORT_STATES)[number];

/** A device's latest state in a rollout: a reported one, or derived `timed_out` (protocol §5). */
export type DeviceState = ReportState | 'timed_out';

export interface Report {
  seq: number;
  releaseId: string;
  rolloutId: string;
  state: ReportState;
  at: string;
  error?: { code: string; message: string };
  version?: string;
  settings?: Record<string, { value: SettingValue; source: SettingSource }>;
}

const PROGRESS: Readonly<Record<string, number>> = { received: 1, downloading: 2, downloaded: 3, installing: 4 };

export const isNonTerminal = (s: string | null): boolean => s !== null && s in PROGRESS;

/** protocol §5: states counted as terminal for auto-halt, and the failures among them. */
export const TERMINAL_STATES: readonly DeviceState[] = ['applied', 'failed', 'rolled_back', 'rejected', 'timed_out'];
export const FAILURE_STATES: readonly DeviceState[] = ['failed', 'rolled_back', 'rejected', 'timed_out'];

/** Ends after which the server keeps offering the release (§5), so a device may try again. */
// `cancelled` (an operator withdrew the offer, protocol §7): whatever the device reports afterwards is what happened.
const RETRYABLE: ReadonlySet<string> = new Set(['failed', 'rolled_back', 'rejected', 'declined', 'timed_out', 'cancelled']);

/**
 * Forward-only within one attempt: progress never goes back; any terminal
 * state may follow progress; `applied → rolled_back` is the one move out of
 * `applied`. After an unsuccessful end (failed, rolled_back, rejected,
 * declined, or a derived timed_out) the device is still offered the release
 * (protocol §5: every release it is eligible for), so any report starts a
 * new attempt. Repeating the current state is harmless. Returns why a move
 * is refused, or undefined.
 */
export function refuseTransition(from: DeviceState | null, to: ReportState): string | undefined {
  if (from === null || from === to || RETRYABLE.has(from)) return undefined;
  if (isNonTerminal(from)) {
    if (isNonTerminal(to) && (PROGRESS[to] as number) < (PROGRESS[from] as number)) return `cannot go back from ${from} to ${to}`;
    return undefined;
  }
  if (from === 'applied' && to === 'rolled_back') return undefined;
  return `${from} is final; ${to} cannot follow it`;
}

export interface FailureFigures {
  terminal: number;
  failures: number;
  byState: Record<string, number>;
}

export function failureFigures(stateCount: (state: DeviceState) => number): FailureFigures {
  const byState: Record<string, number> = {};
  for (const s of TERMINAL_STATES) byState[s] = stateCount(s);
  const terminal = TERMINAL_STATES.reduce((n, s) => n + (byState[s] as number), 0);
  const failures = FAILURE_STATES.reduce((n, s) => n + (byState[s] as number), 0);
  return { terminal, failures, byState };
}

/**
 * protocol §5: a resume that acknowledges a halt keeps the terminal counts,
 * so auto-halt judges only what was reported after it: the figures less
 * those at the resume (never below zero, as retries can turn an old
 * failure into a success).
 */
export function figuresSince(f: FailureFigures, base: { terminal: number; failures: number } | null): Pick<FailureFigures, 'terminal' | 'failures'> {
  if (!base) return { terminal: f.terminal, failures: f.failures };
  return { terminal: Math.max(0, f.terminal - base.terminal), failures: Math.max(0, f.failures - base.failures) };
}
