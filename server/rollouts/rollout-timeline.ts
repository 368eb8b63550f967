import { rowSet, rowSetParam, SELECT_ALL_ROWS } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';
import { FAILURE_STATES, TERMINAL_STATES, type DeviceState } from '../protocol/report-rules.js';

const SECOND_MS = 1000;
const HOUR_MS = 3_600_000;
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
const FAILURE: ReadonlySet<string> = new Set(FAILURE_STATES);

export interface TimelineInterval {
  /** Epoch ms of the interval's start. */
  start: number;
  /** Net change in devices whose latest state is terminal (protocol §5), and failed among them. */
  terminal: number;
  failures: number;
}

const flag = (set: ReadonlySet<string>, s: string | null): number => (s !== null && set.has(s) ? 1 : 0);

/**
 * What a device's move from `from` to `to` at `at` changes in its second's figures; undefined when nothing.
 * Kept per second (issue 18) so a rollout of a few minutes still draws a curve; reading sums the seconds
 * into intervals fitted to the span (timelineIntervalSeconds).
 */
export function intervalMove(from: DeviceState | null, to: DeviceState, at: number): { second: number; terminal: number; failures: number } | undefined {
  const terminal = flag(TERMINAL, to) - flag(TERMINAL, from);
  const failures = flag(FAILURE, to) - flag(FAILURE, from);
  if (terminal === 0 && failures === 0) return undefined;
  return { second: Math.floor(at / SECOND_MS) * SECOND_MS, terminal, failures };
}

/**
 * Interval lengths the timeline answers in. Those of a minute or more are whole
 * minutes, so rows kept per minute before issue 18 fall into exactly one interval.
 */
export const TIMELINE_INTERVALS_S = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400] as const;
/** About this many intervals over the whole span: a curve, not a flat line or a comb. */
const TARGET_INTERVALS = 120;

/** The shortest interval that covers `spanSeconds` (first change to latest) in at most about 120 intervals. */
export function timelineIntervalSeconds(spanSeconds: number): number {
  return TIMELINE_INTERVALS_S.find((s) => spanSeconds / s <= TARGET_INTERVALS) ?? (TIMELINE_INTERVALS_S[TIMELINE_INTERVALS_S.length - 1] as number);
}

/**
 * The grain a rollout's rows may be summed into for good once it is charted
 * in `intervalSeconds`: an hour from two-hour intervals on, a minute from
 * two-minute ones, else none (1). A span only grows, and folding trims it by
 * less than a grain, so the interval never falls below the grain again and
 * every later one is a multiple of it: the chart loses nothing, and a week of
 * changes every second reads 168 rows, not 604,800.
 */
export function foldSeconds(intervalSeconds: number): number {
  return intervalSeconds >= 7200 ? 3600 : intervalSeconds >= 120 ? 60 : 1;
}

export type TimelineStore = ReturnType<typeof createTimelineStore>;

/**
 * Per-second net changes of the auto-halt figures (protocol §5), kept in the
 * transaction that moves a device's state. Summing the intervals up to a
 * moment gives the terminal and failure counts then, so the failure-rate
 * chart shows exactly what auto-halt compared. The column keeps its name from
 * migration 4 (`minute`); since issue 18 it holds the start of a second.
 */
export function createTimelineStore(sql: Sql) {
  const UPSERT = 'ON CONFLICT (rollout_id, minute) DO UPDATE SET terminal = rollout_intervals.terminal + excluded.terminal, failures = rollout_intervals.failures + excluded.failures';
  const addMany = async (moves: readonly { rolloutId: string; second: number; terminal: number; failures: number }[]): Promise<void> => {
    if (moves.length === 0) return;
    await sql.run(`INSERT INTO rollout_intervals (rollout_id, minute, terminal, failures)
      SELECT k.r, k.m, k.t, k.f FROM ${rowSet(sql, 'k', { r: 'text', m: 'int', t: 'int', f: 'int' })} ${SELECT_ALL_ROWS} ${UPSERT}`,
    [rowSetParam(moves.map((x) => ({ r: x.rolloutId, m: x.second, t: x.terminal, f: x.failures })))]);
  };
  /**
   * Sums a rollout's rows finer than `grainMs` into the rows of their grain
   * (foldSeconds), an hour of rows per transaction so the writer is never held
   * long. The rows are taken by DELETE … RETURNING, so two nodes folding at
   * once never count a row twice (the second finds it gone), and a report
   * writing a second meanwhile only adds a row the next fold takes.
   */
  const fold = async (rolloutId: string, grainMs: number): Promise<void> => {
    if (grainMs <= SECOND_MS) return;
    // grainMs is 60,000 or 3,600,000 (foldSeconds), never input. Most reads find nothing to fold and write nothing.
    const finer = `rollout_id = ? AND minute % ${grainMs} <> 0`;
    for (;;) {
      const first = await sql.value<number>(`SELECT minute FROM rollout_intervals WHERE ${finer} ORDER BY minute LIMIT 1`, [rolloutId]);
      if (first === undefined) return;
      const end = first - (first % HOUR_MS) + HOUR_MS;
      await sql.transaction(async () => {
        const taken = await sql.all<{ minute: number; terminal: number; failures: number }>(
          `DELETE FROM rollout_intervals WHERE ${finer} AND minute < ? RETURNING minute, terminal, failures`, [rolloutId, end]);
        const sums = new Map<number, { rolloutId: string; second: number; terminal: number; failures: number }>();
        for (const r of taken) {
          const start = r.minute - (r.minute % grainMs);
          const sum = sums.get(start) ?? { rolloutId, second: start, terminal: 0, failures: 0 };
          sum.terminal += r.terminal;
          sum.failures += r.failures;
          sums.set(start, sum);
        }
        await addMany([...sums.values()]);
      });
    }
  };
  return {
    /** A device moved from `from` to `to` at `at` (epoch ms); writes only when the figures change. */
    async moved(rolloutId: string, from: DeviceState | null, to: DeviceState, at: number): Promise<void> {
      const m = intervalMove(from, to, at);
      if (!m) return;
      await sql.run(`INSERT INTO rollout_intervals (rollout_id, minute, terminal, failures) VALUES (?, ?, ?, ?) ${UPSERT}`, [rolloutId, m.second, m.terminal, m.failures]);
    },
    /** Many seconds' changes in one statement, at most one per (rollout, second) (the caller sums them: see CounterStore.addMany). */
    addMany,
    /**
     * Every interval that saw a change, oldest first, in intervals fitted to the
     * span from the first change to the latest (timelineIntervalSeconds). Few
     * rows come back (about 120 below four months' span, one a day beyond); the
     * sums read the rollout's rows by key, folded first into minutes or hours
     * once the interval allows (foldSeconds).
     */
    async intervals(rolloutId: string): Promise<{ intervalSeconds: number; intervals: TimelineInterval[] }> {
      const span = await sql.one<{ earliest: number | null; latest: number | null }>(
        'SELECT MIN(minute) AS earliest, MAX(minute) AS latest FROM rollout_intervals WHERE rollout_id = ?', [rolloutId]);
      const spanMs = span && span.earliest !== null && span.latest !== null ? span.latest - span.earliest : 0;
      const intervalSeconds = timelineIntervalSeconds(spanMs / SECOND_MS);
      await fold(rolloutId, foldSeconds(intervalSeconds) * SECOND_MS);
      // A length from TIMELINE_INTERVALS_S, never input: written into the statement so both engines divide integers.
      const ms = intervalSeconds * SECOND_MS;
      const intervals = await sql.all<TimelineInterval>(
        `SELECT (minute / ${ms}) * ${ms} AS start, SUM(terminal) AS terminal, SUM(failures) AS failures FROM rollout_intervals
         WHERE rollout_id = ? GROUP BY 1 ORDER BY 1`, [rolloutId]);
      return { intervalSeconds, intervals };
    },
  };
}
