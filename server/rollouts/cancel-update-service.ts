import type { AuditStore } from '../audit/audit-store.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { Sql } from '../db/sql.js';
import type { ActivityBuffer } from '../devices/activity-buffer.js';
import type { DeviceStore } from '../devices/device-store.js';
import { AppError } from '../errors.js';
import { isNonTerminal } from '../protocol/report-rules.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { CANCELLED_OFFER_TOPIC, cancelledOfferKey, type CancelledOffers } from './cancelled-offers.js';
import { counterKey, type CounterStore } from './rollout-counters.js';
import type { RolloutDeviceStore } from './rollout-device-store.js';
import type { RolloutStore } from './rollout-store.js';

/** The state a withdrawn offer shows in status and device listings: neither a success nor a failure. */
export const CANCELLED_STATE = 'cancelled';

export interface CancelUpdateDeps {
  sql: Sql;
  rollouts: Pick<RolloutStore, 'get'>;
  devices: Pick<DeviceStore, 'lastSeqOf'>;
  rolloutDevices: Pick<RolloutDeviceStore, 'get' | 'setState'>;
  counters: Pick<CounterStore, 'add'>;
  activity: Pick<ActivityBuffer, 'flushInTransaction'>;
  cancelled: Pick<CancelledOffers, 'insert' | 'cancelledAt' | 'changed'>;
  audit: Pick<AuditStore, 'append'>;
  changes: Pick<ChangeFeed, 'publish'>;
  now: () => Date;
}

export interface CancelledUpdate {
  rolloutId: string;
  deviceId: string;
  state: typeof CANCELLED_STATE;
  /** The device's state in the rollout before (null: offered, nothing reported; absent: never offered). */
  previousState: string | null | undefined;
  cancelledAt: string;
}

/**
 * protocol §7 `POST /v1/devices/{deviceId}/cancel-update { rolloutId }`:
 * the rollout's offer to this one device is withdrawn — no poll on any node
 * carries it again (protocol §9) — and the device is counted apart from
 * failures (`cancelled`), so withdrawing an install never flatters nor
 * spoils the failure rate. An offer the device finished (applied, failed,
 * declined, timed out...) is no longer open: 409, nothing changes (its
 * outcome stays counted as it was). A device not yet offered the release
 * will not be. Idempotent: cancelling again answers the same.
 */
export async function cancelUpdate(deviceId: string, rolloutId: string, actor: string, deps: CancelUpdateDeps): Promise<CancelledUpdate> {
  const now = deps.now().getTime();
  const result = await deps.sql.transaction(async () => {
    // The same lock as report ingestion: the device's state and the counters move together.
    await holdUntilCommit(deps.sql, ADVISORY_LOCK.fleetWrites);
    // Offers are recorded behind the poll (activity-buffer.ts): store this node's first, so an offer
    // made a moment ago is withdrawn here rather than written afterwards as open.
    await deps.activity.flushInTransaction();
    if ((await deps.devices.lastSeqOf(deviceId)) === undefined) throw new AppError('not_found', `no device ${deviceId}`);
    const rollout = await deps.rollouts.get(rolloutId);
    if (!rollout) throw new AppError('not_found', `no rollout ${rolloutId}`);
    const already = await deps.cancelled.cancelledAt(rolloutId, deviceId);
    const rd = await deps.rolloutDevices.get(rolloutId, deviceId);
    if (already !== undefined && (rd === undefined || rd.state === CANCELLED_STATE)) {
      return { rolloutId, deviceId, state: CANCELLED_STATE, previousState: undefined, cancelledAt: toTimestamp(new Date(already)) } satisfies CancelledUpdate;
    }
    if (rollout.state === 'cancelled') throw new AppError('conflict', `rollout ${rolloutId} is cancelled: it offers nothing to withdraw`);
    if (rd && rd.state !== null && !isNonTerminal(rd.state)) {
      throw new AppError('conflict', `device ${deviceId} already finished in rollout ${rolloutId} (${rd.state}): there is no open offer to withdraw`);
    }
    await deps.cancelled.insert(rolloutId, deviceId, now, actor);
    if (rd) {
      if (rd.state !== null) await deps.counters.add(rolloutId, counterKey.state(rd.state), -1);
      // No longer silent either: the per-stage reach counts it with the devices that answered.
      else await deps.counters.add(rolloutId, counterKey.reportedAt(rd.stage), 1);
      await deps.counters.add(rolloutId, counterKey.state(CANCELLED_STATE), 1);
      await deps.rolloutDevices.setState({ rolloutId, deviceId, state: CANCELLED_STATE, stateAt: now, settings: rd.settings });
    }
    const at = toTimestamp(new Date(now));
    const previousState = rd ? rd.state : undefined;
    await deps.audit.append({ actor, action: 'device.cancel-update', subject: deviceId, details: { rolloutId, previousState: previousState ?? 'not offered' } }, at);
    await deps.changes.publish(CANCELLED_OFFER_TOPIC, cancelledOfferKey(rolloutId, deviceId));
    return { rolloutId, deviceId, state: CANCELLED_STATE, previousState, cancelledAt: at } satisfies CancelledUpdate;
  });
  // This node's poll path stops offering it before the answer is sent (the feed tells the others).
  await deps.cancelled.changed(cancelledOfferKey(rolloutId, deviceId));
  return result;
}
