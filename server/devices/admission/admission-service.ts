import type { AuditStore } from '../../audit/audit-store.js';
import type { Sql } from '../../db/sql.js';
import { AppError } from '../../errors.js';
import { toTimestamp } from '../../protocol/trust/time.js';
import type { AdmissionStatus, AdmissionStore, AuthSet } from './admission-store.js';
import type { DeviceIdentity } from './device-identity.js';

export interface AdmissionDeps {
  sql: Sql;
  store: AdmissionStore;
  audit: Pick<AuditStore, 'append'>;
  now: () => Date;
  /** Pending requests kept at most: an unknown identity beyond it is refused (429) and stores nothing. */
  maxPending: number;
  /** A device's admitted key was replaced or refused: its gateway tokens stop working (on every node). */
  revoked?: (deviceId: string) => Promise<void>;
}

/** What a device asking to be admitted is told. */
export type AdmissionDecision = { status: 'accepted'; deviceId: string; firstTime: boolean } | { status: 'pending' | 'rejected'; deviceId: string };

export interface PendingRequest {
  deviceId: string;
  admission: AdmissionStatus;
  idData: Record<string, unknown>;
  keySha256: string;
  requestedAt: string;
}

export type AdmissionService = ReturnType<typeof createAdmissionService>;

const view = (s: AuthSet): PendingRequest => ({
  deviceId: s.deviceId,
  admission: s.status,
  idData: JSON.parse(s.idData) as Record<string, unknown>,
  keySha256: s.keySha256,
  requestedAt: toTimestamp(new Date(s.requestedAt)),
});

/**
 * Device admission (protocol §12), for any device protocol that admits
 * devices by identity and key: a new identity is pending until an operator
 * accepts it, or admitted at once when preauthorized. The caller has
 * already checked the request's signature by the key (a bad one stores
 * nothing). One accepted key per device: accepting another retires it.
 */
export function createAdmissionService(deps: AdmissionDeps) {
  const { store, sql } = deps;
  const at = () => deps.now().getTime();

  /** A device with a valid signature asks to be admitted. */
  async function request(id: DeviceIdentity): Promise<AdmissionDecision> {
    const set = await store.get(id.deviceId, id.keySha256);
    if (set?.status === 'accepted') return { status: 'accepted', deviceId: id.deviceId, firstTime: false };
    if (set?.status === 'pending' || set?.status === 'rejected') return { status: set.status, deviceId: id.deviceId };
    if (set?.status === 'preauthorized') {
      await sql.transaction(async () => {
        await retireOthers(id.deviceId, id.keySha256, 'preauthorization');
        await store.decide(id.deviceId, id.keySha256, 'accepted', at(), 'preauthorization');
        await deps.audit.append({ actor: `device:${id.deviceId}`, action: 'device.admit', subject: id.deviceId, details: { keySha256: id.keySha256, by: 'preauthorization' } }, toTimestamp(deps.now()));
      });
      return { status: 'accepted', deviceId: id.deviceId, firstTime: true };
    }
    // An unknown identity or key: pending, within a bound (a flood of made-up identities fills no disk).
    if ((await store.countByStatus('pending')) >= deps.maxPending) {
      throw new AppError('rate_limited', 'too many devices are waiting to be admitted; ask again later', { headers: { 'Retry-After': '60' } });
    }
    await sql.transaction(async () => {
      const inserted = await store.insert({ deviceId: id.deviceId, keySha256: id.keySha256, idData: id.idData, pubkey: id.pubkey, status: 'pending', requestedAt: at(), decidedAt: null, decidedBy: null });
      const accepted = (await store.setsOf(id.deviceId)).find((s) => s.status === 'accepted');
      // protocol §12: a changed key for an accepted identity is pending again, on the record.
      if (inserted && accepted) {
        await deps.audit.append({ actor: `device:${id.deviceId}`, action: 'device.key-changed', subject: id.deviceId, details: { keySha256: id.keySha256, acceptedKeySha256: accepted.keySha256 } }, toTimestamp(deps.now()));
      }
    });
    return { status: 'pending', deviceId: id.deviceId };
  }

  /** Every other accepted key of the device is rejected (one accepted key per device). */
  async function retireOthers(deviceId: string, keep: string, by: string): Promise<boolean> {
    let retired = false;
    for (const s of await store.setsOf(deviceId)) {
      if (s.keySha256 !== keep && s.status === 'accepted') {
        await store.decide(deviceId, s.keySha256, 'rejected', at(), by);
        retired = true;
      }
    }
    return retired;
  }

  return {
    request,
    /** An operator accepts the device's newest pending (or rejected) request, or the one with `keySha256`. */
    async accept(deviceId: string, actor: string, keySha256?: string): Promise<PendingRequest> {
      let retired = false;
      const chosen = await sql.transaction(async () => {
        const sets = await store.setsOf(deviceId);
        if (sets.length === 0) throw new AppError('not_found', `no admission request from device ${deviceId}`);
        const set = keySha256 === undefined ? (sets.find((s) => s.status === 'pending') ?? sets.find((s) => s.status === 'rejected') ?? sets.find((s) => s.status === 'accepted'))
          : sets.find((s) => s.keySha256 === keySha256);
        if (!set) throw new AppError('not_found', `device ${deviceId} has no request with key ${keySha256 ?? ''}`);
        if (set.status === 'accepted') return set;
        retired = await retireOthers(deviceId, set.keySha256, actor);
        await store.decide(deviceId, set.keySha256, 'accepted', at(), actor);
        await deps.audit.append({ actor, action: 'device.accept', subject: deviceId, details: { keySha256: set.keySha256, replacedKey: retired } }, toTimestamp(deps.now()));
        return { ...set, status: 'accepted' as const };
      });
      if (retired) await deps.revoked?.(deviceId);
      return view(chosen);
    },
    /** An operator refuses the device: every request of it, accepted ones included; its tokens stop working. */
    async reject(deviceId: string, actor: string): Promise<{ deviceId: string; rejected: number }> {
      const n = await sql.transaction(async () => {
        const sets = await store.setsOf(deviceId);
        if (sets.length === 0) throw new AppError('not_found', `no admission request from device ${deviceId}`);
        let count = 0;
        for (const s of sets) {
          if (s.status === 'rejected') continue;
          await store.decide(deviceId, s.keySha256, 'rejected', at(), actor);
          count++;
        }
        if (count) await deps.audit.append({ actor, action: 'device.reject', subject: deviceId, details: { keys: count } }, toTimestamp(deps.now()));
        return count;
      });
      if (n) await deps.revoked?.(deviceId);
      return { deviceId, rejected: n };
    },
    /** An operator admits an identity and key in advance: its first request is accepted without anyone. */
    async preauthorize(id: DeviceIdentity, actor: string): Promise<PendingRequest> {
      return sql.transaction(async () => {
        const set = await store.get(id.deviceId, id.keySha256);
        if (set?.status === 'accepted') return view(set);
        const now = at();
        if (set) await store.decide(id.deviceId, id.keySha256, 'preauthorized', now, actor);
        else await store.insert({ deviceId: id.deviceId, keySha256: id.keySha256, idData: id.idData, pubkey: id.pubkey, status: 'preauthorized', requestedAt: now, decidedAt: now, decidedBy: actor });
        await deps.audit.append({ actor, action: 'device.preauthorize', subject: id.deviceId, details: { keySha256: id.keySha256, idData: JSON.parse(id.idData) as unknown } }, toTimestamp(deps.now()));
        return view({ deviceId: id.deviceId, keySha256: id.keySha256, idData: id.idData, pubkey: id.pubkey, status: 'preauthorized', requestedAt: now, decidedAt: now, decidedBy: actor });
      });
    },
    /** Requests in one admission state, by device id (GET /v1/devices?admission=…). */
    async list(status: AdmissionStatus, afterId: string, limit: number): Promise<{ devices: PendingRequest[]; nextCursor: string | null }> {
      const rows = await store.page(status, afterId, limit);
      return { devices: rows.map(view), nextCursor: rows.length === limit ? (rows[rows.length - 1]?.deviceId ?? null) : null };
    },
  };
}
