import { rowSet, rowSetParam, SELECT_ALL_ROWS } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';
import { FAILURE_STATES, TERMINAL_STATES, type DeviceState } from '../protocol/report-rules.js';

const MINUTE_MS = 60_000;
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
const FAILURE: ReadonlySet<string> = new Set(FAILURE_STATES);

export interface TimelineInterval {
  /** Epoch ms of the minute's start. */
  minute: number;
  /** Net change in devices whose latest state is terminal (protocol §5), and failed among them. */
  terminal: number;
  failures: number;
}

const flag = (set: ReadonlySet<string>, s: string | null): number => (s !== null && set.has(s) ? 1 : 0);

/** What a device's move from `from` to `to` at `at` changes in its minute's figures; undefined when nothing. */
export function intervalMove(from: DeviceState | null, to: DeviceState, at: number): { minute: number; terminal: number; failures: number } | undefined {
  const terminal = flag(TERMINAL, to) - flag(TERMINAL, from);
  const failures = flag(FAILURE, to) - flag(FAILURE, from);
  if (terminal === 0 && failures === 0) return undefined;
  return { minute: Math.floor(at / MINUTE_MS) * MINUTE_MS, terminal, failures };
}

export type TimelineStore = ReturnType<typeof createTimelineStore>;

/**
 * Per-minute net changes of the auto-halt figures (protocol §5), kept in the
 * transaction that moves a device's state. Summing the intervals up to a
 * minute gives the terminal and failure counts at that minute, so the
 * failure-rate chart shows exactly what auto-halt compared.
 */
export function createTimelineStore(sql: Sql) {
  const UPSERT = 'ON CONFLICT (rollout_id, minute) DO UPDATE SET terminal = rollout_intervals.terminal + excluded.terminal, failures = rollout_intervals.failures + excluded.failures';
  return {
    /** A device moved from `from` to `to` at `at` (epoch ms); writes only when the figures change. */
    async moved(rolloutId: string, from: DeviceState | null, to: DeviceState, at: number): Promise<void> {
      const m = intervalMove(from, to, at);
      if (!m) return;
      await sql.run(`INSERT INTO rollout_intervals (rollout_id, minute, terminal, failures) VALUES (?, ?, ?, ?) ${UPSERT}`, [rolloutId, m.minute, m.terminal, m.failures]);
    },
    /** Many minutes' changes in one statement, at most one per (rollout, minute) (the caller sums them: see CounterStore.addMany). */
    async addMany(moves: readonly { rolloutId: string; minute: number; terminal: number; failures: number }[]): Promise<void> {
      if (moves.length === 0) return;
      await sql.run(`INSERT INTO rollout_intervals (rollout_id, minute, terminal, failures)
        SELECT k.r, k.m, k.t, k.f FROM ${rowSet(sql, 'k', { r: 'text', m: 'int', t: 'int', f: 'int' })} ${SELECT_ALL_ROWS} ${UPSERT}`,
      [rowSetParam(moves.map((x) => ({ r: x.rolloutId, m: x.minute, t: x.terminal, f: x.failures })))]);
    },
    /** The latest `limit` minutes that saw a change, oldest first, with the totals before them. */
    async recent(rolloutId: string, limit: number): Promise<{ before: { terminal: number; failures: number }; intervals: TimelineInterval[] }> {
      const intervals = (await sql.all<TimelineInterval>(
        'SELECT minute, terminal, failures FROM rollout_intervals WHERE rollout_id = ? ORDER BY minute DESC LIMIT ?', [rolloutId, limit],
      )).reverse();
      const first = intervals[0];
      const sums = first
        ? await sql.one<{ terminal: number | null; failures: number | null }>(
          'SELECT SUM(terminal) AS terminal, SUM(failures) AS failures FROM rollout_intervals WHERE rollout_id = ? AND minute < ?', [rolloutId, first.minute])
        : undefined;
      return { before: { terminal: sums?.terminal ?? 0, failures: sums?.failures ?? 0 }, intervals };
    },
  };
}
