import { entryBoundedLru } from '../lib/entry-bounded-lru.js';
import type { DeviceState } from '../protocol/report-rules.js';

/** protocol §12: these end a Mender deployment for the device; it is not offered again. */
export const CLOSED_STATES: ReadonlySet<DeviceState> = new Set(['applied', 'failed', 'rolled_back', 'rejected', 'declined']);

/** The change-feed topic of a closed Mender deployment; its key is `<rolloutId>:<deviceId>` (a rollout id has no ':'). */
export const MENDER_CLOSED_TOPIC = 'mender-closed';
const keyOf = (rolloutId: string, deviceId: string): string => `${rolloutId}:${deviceId}`;
/** Deployment states remembered per device (its most recent rollouts). */
const ROLLOUTS_PER_DEVICE = 16;

export interface DeploymentStatesDeps {
  /** The device's latest state in the rollout, from the store (null: offered, nothing reported; or never offered). */
  read(rolloutId: string, deviceId: string): Promise<DeviceState | null>;
  /** Tells every node (protocol §9 change feed) that a deployment closed. */
  publish(key: string): Promise<void>;
  /** Devices whose deployment states this node remembers (each with its latest few rollouts). */
  max: number;
}

export type DeploymentStates = ReturnType<typeof createDeploymentStates>;

/**
 * Whether a device's Mender deployment (a rollout) has closed, so
 * `deployments/next` does not offer it again (protocol §12), answered from
 * memory after the first read: every node remembers what it read, and
 * learns every close — its own at once, another node's from the change feed
 * (about a second on PostgreSQL). A deployment once closed stays closed. A
 * read that races a close never overwrites the close it did not see.
 */
export function createDeploymentStates(deps: DeploymentStatesDeps) {
  // By device, then by rollout: a poll looks up strings it already holds (the cached device's id, the
  // live rollout's id), whose hashes are known, instead of hashing a key made for the lookup.
  // Sized like the device cache: grown as it fills, not reserved up front.
  const known = entryBoundedLru<string, Map<string, 'open' | 'closed'>>(deps.max);
  const remember = (rolloutId: string, deviceId: string, state: 'open' | 'closed'): void => {
    const states = known.get(deviceId);
    if (!states) {
      known.set(deviceId, new Map([[rolloutId, state]]));
      return;
    }
    // A device meets a new rollout now and then for as long as it polls: its oldest states go (a
    // forgotten one costs one read again), so memory stays bounded by devices, not by history.
    if (!states.has(rolloutId) && states.size >= ROLLOUTS_PER_DEVICE) states.delete(states.keys().next().value as string);
    states.set(rolloutId, state);
  };
  return {
    /** True when the device's deployment closed: from memory when known, else one read. */
    isClosed(rolloutId: string, deviceId: string): boolean | Promise<boolean> {
      const seen = known.get(deviceId)?.get(rolloutId);
      if (seen !== undefined) return seen === 'closed';
      return deps.read(rolloutId, deviceId).then((state) => {
        const closed = state !== null && CLOSED_STATES.has(state);
        // A close heard while the read was in flight wins over what the read saw.
        if (known.get(deviceId)?.get(rolloutId) === undefined) remember(rolloutId, deviceId, closed ? 'closed' : 'open');
        return known.get(deviceId)?.get(rolloutId) === 'closed';
      });
    },
    /** This node stored a closing state (durably): remember it and tell the other nodes. */
    async closed(rolloutId: string, deviceId: string): Promise<void> {
      remember(rolloutId, deviceId, 'closed');
      await deps.publish(keyOf(rolloutId, deviceId));
    },
    /** A close from the change feed (this node's own included). */
    heard(key: string): void {
      const at = key.indexOf(':');
      if (at > 0) remember(key.slice(0, at), key.slice(at + 1), 'closed');
    },
  };
}
