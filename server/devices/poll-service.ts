import { explicitMembershipsOf, membershipOf } from '../cohorts/membership.js';
import type { DeviceFacts } from '../cohorts/cohort.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import { sha256Hex } from '../protocol/crypto/hash.js';
import { eligibleStage } from '../rollouts/eligibility.js';
import type { LiveRollout, LiveRollouts } from '../rollouts/live-rollouts.js';
import type { TransparencyLog } from '../transparency/transparency-log.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { CancelledOffers } from '../rollouts/cancelled-offers.js';
import type { ActivityBuffer } from './activity-buffer.js';
import { deviceBucket } from './device-buckets.js';
import { nextWindowOpening, windowClosesAt } from '../rollouts/maintenance-window.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { Device } from './device-store.js';

export interface PollDeps {
  live: LiveRollouts;
  log: Pick<TransparencyLog, 'generation' | 'offerMember'>;
  cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>;
  rolloutDevices: Pick<RolloutDeviceStore, 'wasOffered'>;
  activity: ActivityBuffer;
  /** protocol §7 cancel-update: offers withdrawn from single devices are never made again. */
  cancelled?: Pick<CancelledOffers, 'has'>;
  pollIntervalSeconds: number;
  pollJitterSeconds: number;
  /** protocol §7: under load the server may raise pollAfterSeconds (1 = normal). */
  loadFactor?: () => number;
}

/**
 * One offer in words any device protocol can translate (the native poll,
 * hawkBit DDI, Mender): the rollout and stage, the signed release as
 * published (protocol §3: version, mandatory, artifact sha256 and size) and
 * the signed statement of the stage the device is in (protocol §5).
 */
export interface DeviceOffer {
  rolloutId: string;
  stage: number;
  release: LiveRollout['release'];
  /** The release envelope as published, serialised once (protocol §3). */
  releaseJson: string;
  statement: LiveRollout['statements'][number];
  /** protocol §7: outside the stage's maintenance window, when it next opens (RFC 3339); the device waits until then. */
  installAfter?: string;
}

export interface PollAnswer {
  /** The JSON body, encoded once. */
  bytes: Buffer;
  etag: string;
}

const MAX_CACHED_BODIES = 10_000;

/**
 * One release the device is offered now (protocol §5 eligibility, §8 logged),
 * in the structured form other edges translate (the DDI gateway, §11).
 */
export interface Offer {
  release: LiveRollout;
  stage: number;
  statement: LiveRollout['statements'][number];
  /** Paused: offered only if the device was offered it before. */
  paused: boolean;
}
type Candidate = Offer;


/** One offer as a gateway translates it (protocol §12): the release as signed, the stage it is offered through. */
export interface GatewayOffer {
  rolloutId: string;
  releaseId: string;
  release: LiveRollout['release'];
  /** The stage through which the device is eligible (its statement is the one it would be sent). */
  stage: number;
  /** The rollout is paused: the offer stands only because it was made before. */
  paused: boolean;
  /** protocol §7: outside the stage's maintenance window, when it next opens (RFC 3339): install nothing before then. */
  installAfter?: string;
}

export type PollService = ReturnType<typeof createPollService>;

/**
 * GET /v1/devices/{id}/update. The body is assembled from envelopes the
 * live view serialised once and the log proofs the transparency log keeps
 * per offer (protocol §8); identical answers (same offers, same checkpoint,
 * same poll interval) share one cached body and ETag, so a poll hashes one
 * short SHA-256 for the bucket per rollout and nothing else. A new
 * checkpoint clears the cache: offers then carry it, with a new ETag.
 */
export function createPollService(deps: PollDeps) {
  const bodies = new Map<string, PollAnswer>();
  let generation = -1;
  let logGeneration = -1;

  // Deterministic per device: spreads the fleet over the window, yet the
  // answer (and so its ETag) stays stable between a device's polls.
  const pollAfterOf = (device: Device): number =>
    deps.pollIntervalSeconds + (deps.pollJitterSeconds > 0 ? deviceBucket(device, 'poll-jitter') % (deps.pollJitterSeconds + 1) : 0);

  /** The offers the device is eligible for, from memory; no side effect. */
  const candidates = (device: Device, facts: DeviceFacts, inCohort: (cohort: string) => boolean, now: number): Candidate[] => {
    const found: Candidate[] = [];
    for (const l of deps.live.current()) {
      // An expired release would only be refused by the device (and counted as a failure).
      if (now >= l.releaseExpires) continue;
      if (deps.cancelled?.has(l.id, device.id)) continue;
      const stage = eligibleStage(l, facts, deviceBucket(device, l.salt), inCohort);
      if (stage < 0) continue;
      const statement = l.statements[stage];
      // protocol §8: the device installs only logged offers; an unlogged one is never made.
      if (!statement || statement.logIndex === undefined || l.releaseLogIndex === undefined) continue;
      found.push({ release: l, stage, statement, paused: l.state === 'paused' });
    }
    return found;
  };

  /** Paused rollouts' offers this node has not seen made: their records are in the store. */
  const unsure = (device: Device, found: readonly Candidate[]): Candidate[] | undefined => {
    let check: Candidate[] | undefined;
    for (const c of found) if (c.paused && !deps.activity.knownOffer(c.release.id, device.id)) (check ??= []).push(c);
    return check;
  };

  /** Drops paused rollouts' offers that were never made to this device (protocol §5: paused serves no new offers). */
  const settle = (device: Device, found: Candidate[]): Offer[] | Promise<Offer[]> => {
    const check = unsure(device, found);
    if (check === undefined) return found;
    return (async () => {
      const refused = new Set<Candidate>();
      for (const c of check) if (!(await deps.rolloutDevices.wasOffered(c.release.id, device.id))) refused.add(c);
      return found.filter((c) => !refused.has(c));
    })();
  };

  /** Notes each offer made (written behind, activity-buffer.ts); protocol §5: paused serves no new offers, only those already made. */
  const made = (deviceId: string, offers: readonly Offer[], now: number): readonly Offer[] => {
    for (const c of offers) if (!c.paused) deps.activity.offered(c.release.id, deviceId, c.stage, now);
    return offers;
  };

  /**
   * protocol §7 maintenance windows: the stage's next opening while it is
   * closed (an RFC 3339 string), undefined while open. Kept per rollout and
   * stage until the window next opens or closes, so a poll formats no dates.
   */
  const windowed = new Map<string, { installAfter: string | undefined; until: number }>();
  const installAfterOf = (c: Pick<Candidate, 'release' | 'stage'>, now: number): string | undefined => {
    const window = c.release.windows[c.stage];
    if (window === undefined) return undefined;
    const key = `${c.release.id}:${c.stage}`;
    const known = windowed.get(key);
    if (known && now < known.until) return known.installAfter;
    const next = nextWindowOpening(window, new Date(now));
    const state = next === null
      ? { installAfter: undefined, until: (windowClosesAt(window, new Date(now)) as Date).getTime() }
      : { installAfter: toTimestamp(next), until: next.getTime() };
    windowed.set(key, state);
    return state.installAfter;
  };

  /** The structured offers the Mender gateway translates (protocol §12). */
  const gatewayOffersOf = (found: readonly Candidate[], now: number): GatewayOffer[] =>
    found.map((c) => {
      const installAfter = installAfterOf(c, now);
      return { rolloutId: c.release.id, releaseId: c.release.releaseId, release: c.release.release, stage: c.stage, paused: c.paused, ...(installAfter ? { installAfter } : {}) };
    });

  const neutralOf = (found: readonly Candidate[], now: number): DeviceOffer[] =>
    found.map((c) => {
      const installAfter = installAfterOf(c, now);
      return { rolloutId: c.release.id, stage: c.stage, release: c.release.release, releaseJson: c.release.releaseJson, statement: c.statement, ...(installAfter ? { installAfter } : {}) };
    });

  const answerOf = (device: Device, found: readonly Candidate[], now: number): PollAnswer => {
    const offers: { release: LiveRollout; statement: LiveRollout['statements'][number]; key: string; installAfter: string | undefined }[] = [];
    for (const c of found) {
      const installAfter = installAfterOf(c, now);
      offers.push({ release: c.release, statement: c.statement, installAfter, key: `${c.release.id}:${c.stage}:${c.statement.version}${installAfter ? `@${installAfter}` : ''}` });
    }
    const pollAfter = pollAfterOf(device) * (deps.loadFactor?.() ?? 1);
    const key = `${offers.map((o) => o.key).join(',')}|${pollAfter}`;
    let answer = bodies.get(key);
    if (!answer) {
      const updates = offers.map((o) =>
        `{"release":${o.release.releaseJson},"rollout":${o.statement.json},"log":${deps.log.offerMember(o.release.releaseLogIndex as number, o.statement.logIndex as number)}${o.installAfter ? `,"installAfter":"${o.installAfter}"` : ''}}`);
      const body = `{"updates":[${updates.join(',')}],"pollAfterSeconds":${pollAfter}}`;
      answer = { bytes: Buffer.from(body), etag: `"${sha256Hex(body).slice(0, 32)}"` };
      bodies.set(key, answer);
    }
    return answer;
  };

  const clearStale = (): void => {
    if (generation !== deps.live.generation() || logGeneration !== deps.log.generation() || bodies.size > MAX_CACHED_BODIES) {
      bodies.clear();
      windowed.clear();
      generation = deps.live.generation();
      logGeneration = deps.log.generation();
    }
  };

  /**
   * The offers, synchronously when everything they need is in memory (the
   * device's cohorts, the live view): no promise, no wait. It reads the
   * store, and so returns a promise, only for a cohort whose member list
   * is too large for memory, or for a paused rollout's offer this node
   * has not seen (protocol §5: paused serves only offers already made).
   */
  const eligible = (device: Device, installedVersion: string, now: number): Offer[] | Promise<Offer[]> => {
    const facts = { id: device.id, model: device.model, version: installedVersion, attributes: device.attributes };
    const membership = membershipOf(deps.cohorts, facts);
    const found = candidates(device, facts, membership.inCohort, now);
    // Known only once the walk asked about a cohort whose member list stays in the store: walk again with the device's memberships.
    if (membership.needsStore) return explicitMembershipsOf(deps.cohorts, device.id).then((explicit) =>
      settle(device, candidates(device, facts, membershipOf(deps.cohorts, facts, explicit).inCohort, now)));
    return settle(device, found);
  };

  return {
    /** The native poll's answer (protocol §7), from `offers`, recorded as made; synchronous when they are. */
    poll(device: Device, installedVersion: string, now: number): PollAnswer | Promise<PollAnswer> {
      clearStale();
      const found = eligible(device, installedVersion, now);
      if (found instanceof Promise) return found.then((o) => answerOf(device, made(device.id, o, now), now));
      return answerOf(device, made(device.id, found, now), now);
    },
    /**
     * The same offers, made and noted the same way, as protocol-neutral
     * values for the gateways (device-core.ts) to translate.
     */
    offers(device: Device, installedVersion: string, now: number): DeviceOffer[] | Promise<DeviceOffer[]> {
      const found = eligible(device, installedVersion, now);
      if (found instanceof Promise) return found.then((o) => neutralOf(made(device.id, o, now), now));
      return neutralOf(made(device.id, found, now), now);
    },
    /** What the device is offered now, recording nothing: an edge that decides later whether it made the offer (the DDI gateway's actions) calls `made` then. */
    eligible,
    made,
    /** protocol §7: outside the offer's maintenance window, when it next opens (RFC 3339); undefined inside it or without one. */
    installAfter: (offer: Offer, now: number): string | undefined => installAfterOf(offer, now),
    /**
     * The same for work offered earlier that stays open whether or not the device is eligible now
     * (a DDI action stays linked, §11): the window of the stage it was offered through, or, when that
     * is not known yet (its first offer still being written behind), of the latest stage reached.
     * Undefined when the rollout is not live.
     */
    installAfterIn(rolloutId: string, stage: number | undefined, now: number): string | undefined {
      const live = deps.live.current().find((l) => l.id === rolloutId);
      if (!live || live.windows.length === 0) return undefined;
      return installAfterOf({ release: live, stage: stage !== undefined && stage < live.windows.length ? stage : live.windows.length - 1 }, now);
    },
    /**
     * The offers `poll` would make, as the Mender gateway translates them
     * (protocol §12); nothing is recorded: the caller says which it made
     * with `offered` (a gateway may deliver only some).
     */
    offersFor(device: Device, installedVersion: string, now: number): GatewayOffer[] | Promise<GatewayOffer[]> {
      const found = eligible(device, installedVersion, now);
      return found instanceof Promise ? found.then((o) => gatewayOffersOf(o, now)) : gatewayOffersOf(found, now);
    },
    /** Records offers as made to the device, as a poll records its own (status counts them offered). */
    offered(deviceId: string, offers: readonly GatewayOffer[], now: number): void {
      // protocol §5: paused serves no new offers, only those already made.
      for (const o of offers) if (!o.paused) deps.activity.offered(o.rolloutId, deviceId, o.stage, now);
    },
  };
}
