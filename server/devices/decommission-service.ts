import { randomBytes } from 'node:crypto';
import type { AuditStore } from '../audit/audit-store.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { DeviceStore } from './device-store.js';

export interface DecommissionDeps {
  sql: Pick<Sql, 'transaction'>;
  devices: Pick<DeviceStore, 'decommission' | 'decommissionedAt' | 'forget'>;
  audit: Pick<AuditStore, 'append'>;
  changes: Pick<ChangeFeed, 'publish'>;
  now: () => Date;
  /**
   * Every other credential a device protocol issued the device (protocol §12: its Mender tokens),
   * revoked in the same transaction: a decommissioned device is refused over every protocol.
   */
  revokeGatewayCredentials?: (deviceId: string) => Promise<void>;
}

/**
 * protocol §7 fleet lifecycle, `DELETE /v1/devices/{deviceId}`: the device's
 * token is refused from its next request on, on every node (the 'device'
 * change makes each node forget its cached copy, protocol §9); its reports,
 * offers and cohort memberships stay for the record. Idempotent: a second
 * decommission changes nothing and logs nothing. Returns when it was
 * decommissioned (epoch ms).
 */
export async function decommissionDevice(deviceId: string, actor: string, deps: DecommissionDeps): Promise<number> {
  const at = deps.now();
  const when = await deps.sql.transaction(async () => {
    const already = await deps.devices.decommissionedAt(deviceId);
    if (already === undefined) throw new AppError('not_found', `no device ${deviceId}`);
    if (already !== null) return already;
    // A digest no token hashes to (device-token.ts): every token the device ever held stops matching.
    await deps.devices.decommission(deviceId, randomBytes(32), at.getTime());
    await deps.revokeGatewayCredentials?.(deviceId);
    await deps.audit.append({ actor, action: 'device.decommission', subject: deviceId, details: {} }, toTimestamp(at));
    await deps.changes.publish('device', deviceId);
    return at.getTime();
  });
  // Also forgotten here, after the commit: a poll may have cached the old row while the write waited.
  deps.devices.forget(deviceId);
  return when;
}
