/**
 * The failure-rate chart's time axis and marks (issue 18), apart from the
 * drawing so they can be tested: the page shows times in UTC (format.when),
 * and so does the chart.
 */
import type { AuditEntry, TimelinePoint } from './types.js';

const pad = (n: number): string => String(n).padStart(2, '0');

/** Tick steps for the time axis, in seconds: whole seconds at least, so no two ticks read the same. */
export const TIME_TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/**
 * Labels for ticks at epoch seconds, in UTC: `HH:MM`, or `HH:MM:SS` when a
 * tick falls inside a minute, with `MM-DD` before them when the ticks cross
 * a day. The axis itself is labelled UTC.
 */
export function utcTickLabels(ticks: readonly number[]): string[] {
  const withSeconds = ticks.some((t) => t % 60 !== 0);
  const oneDay = new Set(ticks.map((t) => Math.floor(t / 86400))).size <= 1;
  return ticks.map((t) => {
    const d = new Date(t * 1000);
    const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${withSeconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
    return oneDay ? clock : `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${clock}`;
  });
}

/** A moment marked on the chart: a halt (auto or by hand), or the resume that overruled one (protocol §5). */
export interface ChartMarker {
  kind: 'halt' | 'resume';
  /** Epoch seconds. */
  at: number;
  actor: string;
}

/**
 * The halts and the resumes of a halted rollout in its audit entries (any
 * order), oldest first: in audit order, since a halt and its resume may share
 * a second.
 */
export function chartMarkers(history: readonly AuditEntry[]): ChartMarker[] {
  const resumedHalt = (e: AuditEntry) => e.action === 'rollout.resume' && (e.details as { from?: { state?: unknown } }).from?.state === 'halted';
  return [...history]
    .sort((a, b) => a.seq - b.seq)
    .filter((e) => e.action === 'rollout.halt' || resumedHalt(e))
    .map((e) => ({ kind: e.action === 'rollout.halt' ? ('halt' as const) : ('resume' as const), at: Date.parse(e.at) / 1000, actor: e.actor }));
}

/**
 * The chart's x values (epoch seconds) and failure rates (%): each interval's
 * rate at its end (the figures are as of then), a lone interval drawn across
 * its length, and the rate carried to each marked moment, since it holds until
 * the next change; null before the first terminal report.
 */
export function rateSeries(points: readonly TimelinePoint[], intervalSeconds: number, markers: readonly ChartMarker[]): { xs: number[]; rate: (number | null)[] } {
  const pairs: [number, number | null][] = points.map((p) => [Date.parse(p.at) / 1000 + intervalSeconds, p.rateBasisPoints / 100]);
  const first = pairs[0];
  if (pairs.length === 1 && first) pairs.unshift([first[0] - intervalSeconds, first[1]]);
  for (const m of markers) {
    if (pairs.some(([x]) => x === m.at)) continue;
    const before = pairs.filter(([x]) => x < m.at).pop();
    pairs.push([m.at, before ? before[1] : null]);
    pairs.sort((a, b) => a[0] - b[0]);
  }
  return { xs: pairs.map(([x]) => x), rate: pairs.map(([, r]) => r) };
}
