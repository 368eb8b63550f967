import { membershipOf } from '../cohorts/membership.js';
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

  return {
    poll(device: Device, installedVersion: string, now: number): PollAnswer {
      if (generation !== deps.live.generation() || logGeneration !== deps.log.generation() || bodies.size > MAX_CACHED_BODIES) {
        bodies.clear();
        generation = deps.live.generation();
        logGeneration = deps.log.generation();
      }
      const facts = { id: device.id, model: device.model, version: installedVersion, attributes: device.attributes };
      const inCohort = membershipOf(deps.cohorts, facts);
      const offers: { release: LiveRollout; statement: LiveRollout['statements'][number]; key: string }[] = [];
      for (const l of deps.live.current()) {
        // An expired release would only be refused by the device (and counted as a failure).
        if (now >= l.releaseExpires) continue;
        const stage = eligibleStage(l, facts, deviceBucket(device, l.salt), inCohort);
        if (stage < 0) continue;
        const statement = l.statements[stage];
        // protocol §8: the device installs only logged offers; an unlogged one is never made.
        if (!statement || statement.logIndex === undefined || l.releaseLogIndex === undefined) continue;
        if (l.state === 'paused') {
          // protocol §5: paused serves no new offers, only those already made.
          if (!deps.activity.pendingOffer(l.id, device.id) && !deps.rolloutDevices.wasOffered(l.id, device.id)) continue;
        } else {
          deps.activity.offered(l.id, device.id, stage, now);
        }
        offers.push({ release: l, statement, key: `${l.id}:${stage}:${statement.version}` });
      }
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
    },
  };
}
