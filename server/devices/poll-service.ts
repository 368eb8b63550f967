import { explicitMembershipsOf, membershipOf } from '../cohorts/membership.js';
import type { DeviceFacts } from '../cohorts/cohort.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import { sha256Hex } from '../crypto/hash.js';
import { eligibleStage } from '../rollouts/eligibility.js';
import type { LiveRollout, LiveRollouts } from '../rollouts/live-rollouts.js';
import type { TransparencyLog } from '../transparency/transparency-log.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { ActivityBuffer } from './activity-buffer.js';
import { deviceBucket } from './device-buckets.js';
import type { Device } from './device-store.js';

export interface PollDeps {
  live: LiveRollouts;
  log: Pick<TransparencyLog, 'generation' | 'offerMember'>;
  cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>;
  rolloutDevices: Pick<RolloutDeviceStore, 'wasOffered'>;
  activity: ActivityBuffer;
  pollIntervalSeconds: number;
  pollJitterSeconds: number;
  /** protocol §7: under load the server may raise pollAfterSeconds (1 = normal). */
  loadFactor?: () => number;
}

export interface PollAnswer {
  /** The JSON body, encoded once. */
  bytes: Buffer;
  etag: string;
}

const MAX_CACHED_BODIES = 10_000;

interface Candidate {
  release: LiveRollout;
  stage: number;
  statement: LiveRollout['statements'][number];
  /** Paused: offered only if the device was offered it before. */
  paused: boolean;
}


/** One offer in structured form, for device protocols that translate it (protocol §11, §12). */
export interface Offer {
  rolloutId: string;
  releaseId: string;
  release: LiveRollout['release'];
  /** The stage through which the device is eligible (its statement is the one it would be sent). */
  stage: number;
  /** The rollout is paused: the offer stands only because it was made before. */
  paused: boolean;
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

  const settle = (device: Device, found: Candidate[]): Candidate[] | Promise<Candidate[]> => {
    const check = unsure(device, found);
    if (check === undefined) return found;
    return (async () => {
      const refused = new Set<Candidate>();
      for (const c of check) if (!(await deps.rolloutDevices.wasOffered(c.release.id, device.id))) refused.add(c);
      return found.filter((c) => !refused.has(c));
    })();
  };

  /** What the device is offered now (§5 eligibility, §5 paused), from memory when it can be. */
  const eligible = (device: Device, installedVersion: string, now: number): Candidate[] | Promise<Candidate[]> => {
    const facts = { id: device.id, model: device.model, version: installedVersion, attributes: device.attributes };
    const membership = membershipOf(deps.cohorts, facts);
    if (membership.needsStore) return explicitMembershipsOf(deps.cohorts, device.id).then((explicit) =>
      settle(device, candidates(device, facts, membershipOf(deps.cohorts, facts, explicit).inCohort, now)));
    return settle(device, candidates(device, facts, membership.inCohort, now));
  };

  const recordOffers = (device: Device, found: readonly Candidate[], now: number): void => {
    // protocol §5: paused serves no new offers, only those already made.
    for (const c of found) if (!c.paused) deps.activity.offered(c.release.id, device.id, c.stage, now);
  };

  const offersOf = (found: readonly Candidate[]): Offer[] =>
    found.map((c) => ({ rolloutId: c.release.id, releaseId: c.release.releaseId, release: c.release.release, stage: c.stage, paused: c.paused }));

  const answerOf = (device: Device, found: readonly Candidate[], now: number): PollAnswer => {
    recordOffers(device, found, now);
    const offers = found.map((c) => ({ release: c.release, statement: c.statement, key: `${c.release.id}:${c.stage}:${c.statement.version}` }));
    const pollAfter = pollAfterOf(device) * (deps.loadFactor?.() ?? 1);
    const key = `${offers.map((o) => o.key).join(',')}|${pollAfter}`;
    let answer = bodies.get(key);
    if (!answer) {
      const updates = offers.map((o) =>
        `{"release":${o.release.releaseJson},"rollout":${o.statement.json},"log":${deps.log.offerMember(o.release.releaseLogIndex as number, o.statement.logIndex as number)}}`);
      const body = `{"updates":[${updates.join(',')}],"pollAfterSeconds":${pollAfter}}`;
      answer = { bytes: Buffer.from(body), etag: `"${sha256Hex(body).slice(0, 32)}"` };
      bodies.set(key, answer);
    }
    return answer;
  };

  return {
    /**
     * The answer, synchronously when everything it needs is in memory (the
     * device's cohorts, the live view): no promise, no wait. It reads the
     * store, and so returns a promise, only for a cohort whose member list
     * is too large for memory, or for a paused rollout's offer this node
     * has not seen (protocol §5: paused serves only offers already made).
     */
    poll(device: Device, installedVersion: string, now: number): PollAnswer | Promise<PollAnswer> {
      if (generation !== deps.live.generation() || logGeneration !== deps.log.generation() || bodies.size > MAX_CACHED_BODIES) {
        bodies.clear();
        generation = deps.live.generation();
        logGeneration = deps.log.generation();
      }
      const found = eligible(device, installedVersion, now);
      return found instanceof Promise ? found.then((f) => answerOf(device, f, now)) : answerOf(device, found, now);
    },
    /**
     * The offers `poll` would make, in structured form, for device
     * protocols that translate them (protocol §11, §12); synchronous under
     * the same conditions as `poll`. Nothing is recorded: the caller says
     * which it made with `offered` (a gateway may deliver only some).
     */
    offersFor(device: Device, installedVersion: string, now: number): Offer[] | Promise<Offer[]> {
      const found = eligible(device, installedVersion, now);
      return found instanceof Promise ? found.then(offersOf) : offersOf(found);
    },
    /** Records offers as made to the device, as a poll records its own (status counts them offered). */
    offered(deviceId: string, offers: readonly Offer[], now: number): void {
      // protocol §5: paused serves no new offers, only those already made.
      for (const o of offers) if (!o.paused) deps.activity.offered(o.rolloutId, deviceId, o.stage, now);
    },
  };
}
