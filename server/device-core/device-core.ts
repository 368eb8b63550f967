import type { OperatorTokenStore } from '../auth/operator-token-store.js';
import type { Principal } from '../auth/principal.js';
import type { TokenUsage } from '../auth/token-usage.js';
import { bearerToken, noBearerToken } from '../auth/tokens.js';
import type { AttributeValue } from '../cohorts/cohort.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { GroupCommit } from '../db/group-commit.js';
import type { ActivityBuffer } from '../devices/activity-buffer.js';
import { deviceForToken, deviceTokenResolver } from '../devices/device-auth.js';
import type { Device, DeviceStore } from '../devices/device-store.js';
import { deviceTokenHash } from '../devices/device-token.js';
import { enroll, mayEnroll, type Enrollment } from '../devices/enrollment-service.js';
import type { DeviceOffer, Offer, PollAnswer, PollService } from '../devices/poll-service.js';
import { AppError } from '../errors.js';
import type { IngestResult, IngestService, SubmitOptions } from '../reports/ingest-service.js';
import type { Report } from '../protocol/report-rules.js';
import type { AuditStore } from '../audit/audit-store.js';

export type { Device } from '../devices/device-store.js';
export type { DeviceOffer, PollAnswer } from '../devices/poll-service.js';
export type { Enrollment } from '../devices/enrollment-service.js';
export type { IngestResult } from '../reports/ingest-service.js';
export type { Report } from '../protocol/report-rules.js';

/** What a device protocol learned about a device's facts (hawkBit configData, Mender inventory); absent = unchanged. */
export interface DeviceFactsUpdate {
  model?: string;
  /** The installed version, a semantic version (the caller validates it: protocol §7). */
  version?: string;
  /** Replaces the device's attributes whole (cohort rules read them, protocol §4). */
  attributes?: Record<string, AttributeValue>;
}

export interface EnrollResult {
  deviceToken: string;
  deviceId: string;
  reenrolled: boolean;
}

export interface DeviceCoreDeps {
  /** The whole store: enrollment's group writer (enrollment-service.ts) reads and writes devices in sets. */
  devices: DeviceStore;
  operatorTokens: Pick<OperatorTokenStore, 'authenticate'>;
  /** Last use of operator tokens, noted in memory and written behind (auth/token-usage.ts). */
  tokenUsage: Pick<TokenUsage, 'touch'>;
  poll: Pick<PollService, 'poll' | 'offers' | 'eligible' | 'made' | 'installAfter' | 'installAfterIn'>;
  activity: Pick<ActivityBuffer, 'seen'>;
  ingest: Pick<IngestService, 'submit'>;
  commits: GroupCommit;
  audit: AuditStore;
  changes: Pick<ChangeFeed, 'publish'>;
  fleetMetrics: { enrolled(reenrolled: boolean): void };
  now: () => Date;
}

/** lastSeen to the minute: a device polling often does not rewrite its row every time. */
const SEEN_RESOLUTION_MS = 60_000;

export type DeviceCore = ReturnType<typeof createDeviceCore>;

/**
 * The one door every device protocol goes through (native §7, hawkBit DDI
 * §11, Mender §12): enroll, authenticate, the offers for a device, report,
 * and the device's facts. The rules stay in the services behind it
 * (enrollment-service, device-auth, poll-service, ingest-service); an edge
 * only translates its wire format into these calls and back. Everything
 * acknowledged here is group-committed before the promise resolves.
 */
export function createDeviceCore(deps: DeviceCoreDeps) {
  const resolveDevice = deviceTokenResolver(deps.devices);

  /** Notes the poll (write-behind) and returns the version the offers are judged against. */
  const seenAt = (device: Device, reported: string | undefined, now: number): string => {
    const installed = reported ?? device.version;
    if (installed !== device.version || now - device.lastSeen >= SEEN_RESOLUTION_MS) deps.activity.seen(device.id, installed, now);
    return installed;
  };

  return {
    /**
     * protocol §7: the device a request under /v1/devices/{deviceId} acts as.
     * 401 without a valid credential, 403 for an operator token or another
     * device's token. Synchronous when the device is cached and the token is
     * its own (every poll of a known device); a promise otherwise.
     */
    authenticate(deviceId: string, authorization: string | undefined): Device | Promise<Device> {
      return deviceForToken(deps.devices, deps.operatorTokens, deviceId, authorization);
    },

    /**
     * Who calls enrollment: an operator token (its use noted) or any device
     * token; 401 otherwise. The role is judged by `mayEnroll`, after the
     * caller's rate limit (protocol §7 order: 401, 429, 403).
     */
    async credential(authorization: string | undefined): Promise<Principal> {
      const token = bearerToken(authorization);
      const by = token === undefined ? undefined : ((await deps.operatorTokens.authenticate(token)) ?? (await resolveDevice(token)));
      if (!by) throw new AppError('unauthorized', token === undefined ? noBearerToken(authorization, 'a bearer token is required') : 'the token is not valid');
      if (by.kind === 'operator') deps.tokenUsage.touch(by.tokenId);
      return by;
    },

    /** 403 unless `by` may call enrollment (enrollment-service.ts holds the rule). */
    mayEnroll,

    /**
     * protocol §7: enrolls a new device, or re-enrolls one with its own current
     * token (`presentedToken`, the raw token it authenticated with), which
     * rotates the token. Resolves once committed; re-enrollment is audited
     * and published on the change feed so every node drops the old token.
     */
    async enroll(e: Enrollment, by: Principal, presentedToken?: string, over: 'native' | 'ddi' = 'native'): Promise<EnrollResult> {
      const presented = by.kind === 'device' && presentedToken !== undefined ? deviceTokenHash(presentedToken) : undefined;
      const { deviceToken, reenrolled } = await enroll(e, by, deps, presented, over);
      return { deviceToken, deviceId: e.deviceId, reenrolled };
    },

    /**
     * The native poll's answer (protocol §7 GET …/update): the serialised body
     * and its ETag, cached per set of offers. Synchronous when everything is
     * in memory: no promise, no new object on the hot path.
     */
    nativePoll(device: Device, reportedVersion: string | undefined): PollAnswer | Promise<PollAnswer> {
      const now = deps.now().getTime();
      return deps.poll.poll(device, seenAt(device, reportedVersion, now), now);
    },

    /**
     * The same offers as protocol-neutral values (gateways translate them):
     * eligible live rollouts, the device's stage and the signed statement,
     * paused rules applied, each offer made noted (write-behind) as the
     * native poll notes it. A gateway's poll counts as the device being seen.
     */
    offers(device: Device, reportedVersion: string | undefined): DeviceOffer[] | Promise<DeviceOffer[]> {
      const now = deps.now().getTime();
      return deps.poll.offers(device, seenAt(device, reportedVersion, now), now);
    },

    /**
     * The offers a device is eligible for now, recording nothing: for an edge
     * that decides afterwards which it makes (a DDI action links one offer at
     * a time, §11), then calls `offerMade`. Same rules as `offers`.
     */
    eligibleOffers(device: Device, installedVersion: string, now: number): Offer[] | Promise<Offer[]> {
      return deps.poll.eligible(device, installedVersion, now);
    },

    /** Notes an offer of `eligibleOffers` as made (written behind, as the native poll's are). */
    offerMade(deviceId: string, offer: Offer, now: number): void {
      deps.poll.made(deviceId, [offer], now);
    },

    /** protocol §7 maintenance windows: outside the offer's stage window, when it next opens (RFC 3339); undefined when it may install now. */
    installAfter(offer: Offer, now: number): string | undefined {
      return deps.poll.installAfter(offer, now);
    },

    /** The same for an offer made earlier through `stage` that stays open (poll-service.ts `installAfterIn`). */
    installAfterIn(rolloutId: string, stage: number | undefined, now: number): string | undefined {
      return deps.poll.installAfterIn(rolloutId, stage, now);
    },

    /**
     * protocol §7 reports: a batch applied whole or refused whole, resolved
     * only once group-committed (durable), with what was accepted.
     */
    report(device: Device, batch: Report[], options?: SubmitOptions): Promise<IngestResult> {
      return deps.ingest.submit(device, batch, options);
    },

    /**
     * Sets the facts a device protocol reports (model, installed version,
     * attributes), group-committed, published so every node's device cache
     * drops the old copy. Returns the device as stored. Moving a device's
     * model or attributes can move it between cohorts: an edge passes only
     * what its protocol lets a device assert (docs/protocol-notes.md).
     */
    async updateFacts(deviceId: string, facts: DeviceFactsUpdate): Promise<Device> {
      return deps.commits.run(async () => {
        const existing = await deps.devices.get(deviceId);
        if (!existing) throw new AppError('not_found', `no device ${deviceId}`);
        const next = {
          id: deviceId,
          model: facts.model ?? existing.model,
          version: facts.version ?? existing.version,
          attributes: facts.attributes ?? existing.attributes,
        };
        const unchanged = next.model === existing.model && next.version === existing.version && JSON.stringify(next.attributes) === JSON.stringify(existing.attributes);
        if (!unchanged) {
          await deps.devices.setFacts(next);
          // protocol §9: other nodes' device caches drop the old facts.
          await deps.changes.publish('device', deviceId);
        }
        return { ...existing, ...next };
      });
    },
  };
}
