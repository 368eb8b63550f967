import { actorOf, type Principal } from '../auth/principal.js';
import { newToken } from '../auth/tokens.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { AttributeValue, DeviceFacts } from '../cohorts/cohort.js';
import type { BatchWriter, GroupCommit, Outcome } from '../db/group-commit.js';
import { AppError } from '../errors.js';
import { toTimestamp } from '../protocol/trust/time.js';
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
 * protocol §7 + §6 roles: who may call enrollment at all. An operator token
 * must be an enroller's (or an admin's); a device token may only re-enroll
 * (checked against the deviceId by `enroll`). The one place this rule lives:
 * the edge asks it before reading the body, `enroll` asks it again.
 */
export function mayEnroll(by: Principal, over: 'native' | 'ddi' = 'native'): void {
  if (by.kind !== 'operator' || by.role === 'enroller' || by.role === 'admin') return;
  // protocol §11: a gateway token enrolls an unknown controllerId on its first DDI poll, and only there.
  if (by.role === 'gateway' && over === 'ddi') return;
  throw new AppError('forbidden', 'enrollment needs an enroller token');
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
  /** The device protocol the request came in by (a gateway token enrolls over DDI only). */
  over: 'native' | 'ddi' = 'native',
): Promise<{ deviceToken: string; reenrolled: boolean }> {
  mayEnroll(by, over);
  // protocol §7: a device token acts for its own device only ("403 ... for another device's resources"),
  // whether or not the other id exists: the answer must not tell a device which ids are enrolled.
  if (by.kind === 'device' && by.deviceId !== e.deviceId) throw new AppError('forbidden', 'a device token can only re-enroll its own device');
  const token = newToken('dev');
  const now = deps.now();
  const facts = { id: e.deviceId, model: e.model, version: e.version, attributes: e.attributes ?? {} };
  // Group-committed: the token is answered only once it is on disk, and a burst of enrollments shares one fsync
  // and, written set-based, a few statements (the group's one read also finds decommissioned ids).
  const reenrolled = await deps.commits.runBatched(writerFor(deps), { facts, tokenHash: deviceTokenHash(token), byDevice: by.kind === 'device', actor: actorOf(by), presentedTokenHash, now });
  // Counted here, after the commit, whichever way the request came in (fast path or Express).
  deps.fleetMetrics?.enrolled(reenrolled);
  return { deviceToken: token, reenrolled };
}

interface EnrollItem {
  facts: DeviceFacts;
  tokenHash: Buffer;
  /** Presented a device token (re-enrollment); false for an enroller. */
  byDevice: boolean;
  /** Who enrolls, as the audit log names it (a reinstatement is audited). */
  actor: string;
  presentedTokenHash: Buffer | undefined;
  now: Date;
}

type EnrollDeps = Pick<Parameters<typeof enroll>[2], 'devices' | 'audit' | 'changes'>;

/** One writer per group commit (one per server): requests of the same writer are written together. */
const writers = new WeakMap<GroupCommit, BatchWriter<EnrollItem, boolean>>();
const writerFor = (deps: EnrollDeps & { commits: GroupCommit }): BatchWriter<EnrollItem, boolean> => {
  let w = writers.get(deps.commits);
  if (!w) writers.set(deps.commits, (w = enrollmentWriter(deps)));
  return w;
};

/**
 * A group's enrollments (issue 20): the devices they name are read in one
 * statement, each request is judged in memory in arrival order (a second
 * enrollment of an id in the same group sees the first), and the new
 * devices are inserted in one statement. A re-enrollment — rare, and it
 * writes the audit chain and the change feed — is written on its own.
 */
function enrollmentWriter(deps: EnrollDeps): BatchWriter<EnrollItem, boolean> {
  const writer: BatchWriter<EnrollItem, boolean> = {
    async many(items) {
      const known = await deps.devices.getMany([...new Set(items.map((i) => i.facts.id))]);
      const fresh: { facts: DeviceFacts; tokenHash: Buffer; at: number }[] = [];
      const reenrollments: EnrollItem[] = [];
      const reinstated: (EnrollItem & { actor: string })[] = [];
      const outcomes: Outcome<boolean>[] = items.map((item) => {
        const existing = known.get(item.facts.id);
        // protocol §7 fleet lifecycle: a decommissioned id comes back only with an enrollment credential
        // (its own tokens are all refused), as a fresh device with the enroller's facts; its history stays.
        if (existing && existing.decommissionedAt !== null && !item.byDevice) {
          const at = item.now.getTime();
          reinstated.push({ ...item, actor: item.actor });
          known.set(item.facts.id, { ...existing, ...item.facts, tokenHash: item.tokenHash, lastSeen: at, decommissionedAt: null });
          return { ok: true, value: true };
        }
        if (existing && !item.byDevice) {
          return { ok: false, error: new AppError('conflict', `device ${item.facts.id} is already enrolled; re-enroll with its current device token`) };
        }
        // The token was checked when the request arrived; a re-enrollment committed since (a retry racing
        // its original) replaced it, and a replaced token must not mint another one.
        if (existing && !(item.presentedTokenHash && sameDigest(existing.tokenHash, item.presentedTokenHash))) {
          return { ok: false, error: new AppError('unauthorized', 'the device token is no longer current: it was replaced by another re-enrollment') };
        }
        // What this request leaves is what the next request of the group for this id sees.
        const at = item.now.getTime();
        const stored = { ...(existing ?? { enrolledAt: at, lastSeq: -1 }), ...item.facts, tokenHash: item.tokenHash, lastSeen: at, decommissionedAt: null };
        if (existing) {
          // A device re-enrolling rotates its token and reports its version; its model and attributes stay
          // as the enroller set them, so no device can move itself into a rule-based cohort (e.g. QA).
          reenrollments.push({ ...item, facts: { ...item.facts, model: existing.model, attributes: existing.attributes } });
          known.set(item.facts.id, { ...stored, model: existing.model, attributes: existing.attributes });
        } else {
          fresh.push({ facts: item.facts, tokenHash: item.tokenHash, at });
          known.set(item.facts.id, stored);
        }
        return { ok: true, value: existing !== undefined };
      });
      await deps.devices.insertMany(fresh);
      for (const r of reinstated) {
        await deps.devices.reinstate(r.facts, r.tokenHash, r.now.getTime());
        await deps.audit.append({ actor: r.actor, action: 'device.reinstate', subject: r.facts.id, details: { model: r.facts.model, version: r.facts.version } }, toTimestamp(r.now));
        await deps.changes?.publish('device', r.facts.id);
      }
      for (const r of reenrollments) {
        await deps.devices.reenroll(r.facts, r.tokenHash, r.now.getTime());
        // Enrollment is not audited per device (fleet-scale noise); re-enrollment replaces a credential, so it is.
        await deps.audit.append({ actor: `device:${r.facts.id}`, action: 'device.reenroll', subject: r.facts.id, details: { version: r.facts.version } }, toTimestamp(r.now));
        // protocol §7 + §9: the replaced token stops working on every node's device cache too.
        await deps.changes?.publish('device', r.facts.id);
      }
      return outcomes;
    },
    async one(item) {
      const [outcome] = await writer.many([item]);
      if (!outcome?.ok) throw outcome?.error;
      return outcome.value;
    },
  };
  return writer;
}
