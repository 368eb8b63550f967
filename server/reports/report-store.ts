import { rowSet, rowSetParam, SELECT_ALL_ROWS } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';

export interface StoredReport {
  deviceId: string;
  seq: number;
  rolloutId: string;
  releaseId: string;
  state: string;
  at: string;
  body: string;
  receivedAt: number;
}

/** A stored report as operators see it: the device's own words (error, version, settings) beside what the server recorded. */
export interface ReportView {
  seq: number;
  rolloutId: string;
  releaseId: string;
  state: string;
  at: string;
  receivedAt: number;
  error: { code: string; message: string } | null;
  version: string | null;
}

interface ReportRow {
  seq: number;
  rollout_id: string;
  release_id: string;
  state: string;
  at: string;
  body: string;
  received_at: number;
}

const toView = (r: ReportRow): ReportView => {
  // The body was validated against the report schema when it was stored (report-parse.ts).
  const body = JSON.parse(r.body) as { error?: { code: string; message: string }; version?: string };
  return { seq: r.seq, rolloutId: r.rollout_id, releaseId: r.release_id, state: r.state, at: r.at, receivedAt: r.received_at, error: body.error ?? null, version: body.version ?? null };
};

/** The key of one device's report in the maps of a group (bodiesOf). */
export const reportKey = (deviceId: string, seq: number): string => `${deviceId}\u0000${seq}`;

export type ReportStore = ReturnType<typeof createReportStore>;

export function createReportStore(sql: Sql) {
  const COLUMNS = 'SELECT seq, rollout_id, release_id, state, at, body, received_at FROM reports';
  return {
    async insert(r: StoredReport): Promise<void> {
      await sql.run('INSERT INTO reports (device_id, seq, rollout_id, release_id, state, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [r.deviceId, r.seq, r.rolloutId, r.releaseId, r.state, r.at, r.body, r.receivedAt]);
    },
    /** Many reports in one statement (a group commit's reports). */
    async insertMany(rs: readonly StoredReport[]): Promise<void> {
      if (rs.length === 0) return;
      await sql.run(`INSERT INTO reports (device_id, seq, rollout_id, release_id, state, at, body, received_at)
        SELECT r.d, r.s, r.ro, r.re, r.st, r.at, r.b, r.rc FROM ${rowSet(sql, 'r', { d: 'text', s: 'int', ro: 'text', re: 'text', st: 'text', at: 'text', b: 'text', rc: 'int' })} ${SELECT_ALL_ROWS}`,
      [rowSetParam(rs.map((r) => ({ d: r.deviceId, s: r.seq, ro: r.rolloutId, re: r.releaseId, st: r.state, at: r.at, b: r.body, rc: r.receivedAt })))]);
    },
    /** The stored canonical bodies of many (device, seq), keyed by reportKey: one statement for a group. */
    async bodiesOf(keys: readonly { deviceId: string; seq: number }[]): Promise<Map<string, string>> {
      if (keys.length === 0) return new Map();
      const found = await sql.all<{ device_id: string; seq: number; body: string }>(
        `SELECT reports.device_id, reports.seq, reports.body FROM ${rowSet(sql, 'k', { d: 'text', s: 'int' })} JOIN reports ON reports.device_id = k.d AND reports.seq = k.s`,
        [rowSetParam(keys.map((k) => ({ d: k.deviceId, s: k.seq })))]);
      return new Map(found.map((r) => [reportKey(r.device_id, Number(r.seq)), r.body]));
    },
    /** The stored canonical body of (device, seq), for duplicate detection. */
    bodyOf: (deviceId: string, seq: number): Promise<string | undefined> =>
      sql.value<string>('SELECT body FROM reports WHERE device_id = ? AND seq = ?', [deviceId, seq]),
    /** The device's latest report in a rollout (its error, if the device gave one). Both walk one device's reports only (primary key device_id, seq). */
    async latest(deviceId: string, rolloutId: string): Promise<ReportView | undefined> {
      const row = await sql.one<ReportRow>(`${COLUMNS} WHERE device_id = ? AND rollout_id = ? ORDER BY seq DESC LIMIT 1`, [deviceId, rolloutId]);
      return row && toView(row);
    },
    /** The device's latest `limit` reports, newest first. */
    ofDevice: async (deviceId: string, limit: number): Promise<ReportView[]> =>
      (await sql.all<ReportRow>(`${COLUMNS} WHERE device_id = ? ORDER BY seq DESC LIMIT ?`, [deviceId, limit])).map(toView),
    count: async (): Promise<number> => (await sql.value<number>('SELECT COUNT(*) FROM reports')) ?? 0,
  };
}
