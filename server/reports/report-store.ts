import type { Db } from '../db/open.js';

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

export type ReportStore = ReturnType<typeof createReportStore>;

export function createReportStore(db: Db) {
  const insertStmt = db.prepare(
    'INSERT INTO reports (device_id, seq, rollout_id, release_id, state, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const bodyStmt = db.prepare<[string, number], string>('SELECT body FROM reports WHERE device_id = ? AND seq = ?').pluck();
  const countStmt = db.prepare<[], number>('SELECT COUNT(*) FROM reports').pluck();
  // (device_id, seq) is the key: a device's few reports, newest first.
  const latestStmt = db.prepare<[string, string], string>('SELECT body FROM reports WHERE device_id = ? AND rollout_id = ? ORDER BY seq DESC LIMIT 1').pluck();
  return {
    insert(r: StoredReport): void {
      insertStmt.run(r.deviceId, r.seq, r.rolloutId, r.releaseId, r.state, r.at, r.body, r.receivedAt);
    },
    /** The stored canonical body of (device, seq), for duplicate detection. */
    bodyOf: (deviceId: string, seq: number): string | undefined => bodyStmt.get(deviceId, seq) as string | undefined,
    count: (): number => countStmt.get() as number,
    /** The `error` of a device's latest report in a rollout (protocol §7: `error?: {code, message}`), or null. */
    latestError(deviceId: string, rolloutId: string): { code: string; message: string } | null {
      const body = latestStmt.get(deviceId, rolloutId) as string | undefined;
      if (body === undefined) return null;
      const error = (JSON.parse(body) as { error?: { code: string; message: string } }).error;
      return error ? { code: error.code, message: error.message } : null;
    },
  };
}
