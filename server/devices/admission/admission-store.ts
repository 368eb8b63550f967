import type { Sql } from '../../db/sql.js';

/** protocol §12 admission states of one identity-and-key pair ("auth set"). */
export type AdmissionStatus = 'pending' | 'accepted' | 'rejected' | 'preauthorized';

export interface AuthSet {
  deviceId: string;
  keySha256: string;
  idData: string;
  pubkey: string;
  status: AdmissionStatus;
  requestedAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

const COLUMNS = `SELECT device_id AS "deviceId", key_sha256 AS "keySha256", id_data AS "idData", pubkey, status,
  requested_at AS "requestedAt", decided_at AS "decidedAt", decided_by AS "decidedBy" FROM device_admissions`;

export type AdmissionStore = ReturnType<typeof createAdmissionStore>;

/** Auth sets: one row per (device id, key). Writes run inside the admission service's transactions. */
export function createAdmissionStore(sql: Sql) {
  const num = (r: AuthSet): AuthSet => ({ ...r, requestedAt: Number(r.requestedAt), decidedAt: r.decidedAt === null ? null : Number(r.decidedAt) });
  return {
    get: async (deviceId: string, keySha256: string): Promise<AuthSet | undefined> => {
      const r = await sql.one<AuthSet>(`${COLUMNS} WHERE device_id = ? AND key_sha256 = ?`, [deviceId, keySha256]);
      return r && num(r);
    },
    setsOf: async (deviceId: string): Promise<AuthSet[]> =>
      (await sql.all<AuthSet>(`${COLUMNS} WHERE device_id = ? ORDER BY requested_at DESC, key_sha256`, [deviceId])).map(num),
    async insert(s: AuthSet): Promise<boolean> {
      return (await sql.run(`INSERT INTO device_admissions (device_id, key_sha256, id_data, pubkey, status, requested_at, decided_at, decided_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, key_sha256) DO NOTHING`,
      [s.deviceId, s.keySha256, s.idData, s.pubkey, s.status, s.requestedAt, s.decidedAt, s.decidedBy])) === 1;
    },
    async decide(deviceId: string, keySha256: string, status: AdmissionStatus, at: number, by: string): Promise<void> {
      await sql.run('UPDATE device_admissions SET status = ?, decided_at = ?, decided_by = ? WHERE device_id = ? AND key_sha256 = ?', [status, at, by, deviceId, keySha256]);
    },
    countByStatus: async (status: AdmissionStatus): Promise<number> => Number((await sql.value<number>('SELECT COUNT(*) FROM device_admissions WHERE status = ?', [status])) ?? 0),
    /** Sets in one status by device id after `afterId` (operators page through pending requests). */
    page: async (status: AdmissionStatus, afterId: string, limit: number): Promise<AuthSet[]> =>
      (await sql.all<AuthSet>(`${COLUMNS} WHERE status = ? AND device_id > ? ORDER BY device_id, key_sha256 LIMIT ?`, [status, afterId, limit])).map(num),
  };
}
