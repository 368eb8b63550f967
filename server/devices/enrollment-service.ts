import { actorOf, type Principal } from '../auth/principal.js';
import { newToken } from '../auth/tokens.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { AttributeValue } from '../cohorts/cohort.js';
import type { GroupCommit } from '../db/group-commit.js';
import { AppError } from '../errors.js';
import { toTimestamp } from '../trust/time.js';
import { deviceTokenHash, sameDigest } from './device-token.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { DeviceStore } from './device-store.js';

export interface Enrollment {
  deviceId: string;
  model: string;
  version: string;
  attributes?: Record<string, AttributeValue>;
}

/**
 * protocol §7: enrollment with an enrollment credential; an existing
 * deviceId re-enrolls only with its current device token (409 otherwise).
 * A re-enrollment replaces the token: the old one stops working at once.
 */
export async function enroll(
  e: Enrollment,
  by: Principal,
  deps: { commits: GroupCommit; devices: DeviceStore; audit: AuditStore; now: () => Date; fleetMetrics?: { enrolled(reenrolled: boolean): void }; changes?: Pick<ChangeFeed, 'publish'> },
  /** For a device principal: the digest of the token it presented, checked again inside the commit. */
  presentedTokenHash?: Buffer,
): Promise<{ deviceToken: string; reenrolled: boolean }> {
  const isEnroller = by.kind === 'operator' && (by.role === 'enroller' || by.role === 'admin');
  if (by.kind === 'operator' && !isEnroller) throw new AppError('forbidden', 'enrollment needs an enroller token');
  // protocol §7: an existing deviceId re-enrolls only with ITS current token, "409 otherwise".
  if (by.kind === 'device' && by.deviceId !== e.deviceId) throw new AppError('conflict', `device ${e.deviceId} can only be re-enrolled with its own current device token`);
  const token = newToken('dev');
  const now = deps.now();
  const facts = { id: e.deviceId, model: e.model, version: e.version, attributes: e.attributes ?? {} };
  // Group-committed: the token is answered only once it is on disk, and a burst of enrollments shares one fsync.
  const reenrolled = await deps.commits.run(async () => {
    const existing = await deps.devices.get(e.deviceId);
    // protocol §7 fleet lifecycle: a decommissioned id comes back only with an enrollment credential
    // (its own tokens are all refused), as a fresh device with the enroller's facts; its history stays.
    if (existing && by.kind !== 'device' && (await deps.devices.decommissionedAt(e.deviceId)) != null) {
      await deps.devices.reinstate(facts, deviceTokenHash(token), now.getTime());
      await deps.audit.append({ actor: actorOf(by), action: 'device.reinstate', subject: e.deviceId, details: { model: e.model, version: e.version } }, toTimestamp(now));
      await deps.changes?.publish('device', e.deviceId);
      return true;
    }
    if (existing && by.kind !== 'device') {
      throw new AppError('conflict', `device ${e.deviceId} is already enrolled; re-enroll with its current device token`);
    }
    // The token was checked when the request arrived; a re-enrollment committed since (a retry racing
    // its original) replaced it, and a replaced token must not mint another one.
    if (existing && by.kind === 'device' && !(presentedTokenHash && sameDigest(existing.tokenHash, presentedTokenHash))) {
      throw new AppError('unauthorized', 'the device token is no longer current: it was replaced by another re-enrollment');
    }
    // A device re-enrolling rotates its token and reports its version; its model and attributes stay
    // as the enroller set them, so no device can move itself into a rule-based cohort (e.g. QA).
    if (existing) await deps.devices.reenroll({ ...facts, model: existing.model, attributes: existing.attributes }, deviceTokenHash(token), now.getTime());
    else await deps.devices.insert(facts, deviceTokenHash(token), now.getTime());
    // Enrollment is not audited per device (fleet-scale noise); re-enrollment replaces a credential, so it is.
    if (existing) {
      await deps.audit.append({ actor: `device:${e.deviceId}`, action: 'device.reenroll', subject: e.deviceId, details: { version: e.version } }, toTimestamp(now));
      // protocol §7 + §9: the replaced token stops working on every node's device cache too.
      await deps.changes?.publish('device', e.deviceId);
    }
    return existing !== undefined;
  });
  // Counted here, after the commit, whichever way the request came in (fast path or Express).
  deps.fleetMetrics?.enrolled(reenrolled);
  return { deviceToken: token, reenrolled };
}
