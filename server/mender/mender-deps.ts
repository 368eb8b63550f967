import type { Logger } from 'pino';
import type { AttributeValue } from '../cohorts/cohort.js';
import type { AdmissionDecision } from '../devices/admission/admission-service.js';
import type { DeviceIdentity } from '../devices/admission/device-identity.js';
import type { Device } from '../devices/device-store.js';
import type { GatewayOffer as Offer } from '../devices/poll-service.js';
import type { DeviceState, Report } from '../protocol/report-rules.js';
import type { RolloutState } from '../rollouts/rollout-state.js';
import type { LinkSigner } from './artifact-links.js';
import type { DeploymentStates } from './deployment-states.js';
import type { MenderArtifactStore, MenderTokenStore } from './mender-stores.js';

/**
 * Everything the Mender gateway uses, in the device core's words (enroll,
 * authenticate, offers, report, set attributes), wired at the composition
 * root. The gateway translates; every rule is behind these calls.
 */
export interface MenderDeps {
  /** Admission of an identity whose request signature verified (pending, accepted, rejected). */
  authenticate(identity: DeviceIdentity): Promise<AdmissionDecision>;
  /** Makes sure an admitted device is enrolled (no model yet: its inventory gives it). */
  enroll(deviceId: string): Promise<void>;
  /** The enrolled device, from memory when cached; undefined once it is gone. */
  device(deviceId: string): Device | undefined | Promise<Device | undefined>;
  /** The device's own facts (model, installed version, attributes), durable before it resolves. */
  setAttributes(facts: { id: string; model: string; version: string; attributes: Record<string, AttributeValue> }): Promise<void>;
  /** A poll was seen: last seen and installed version, written behind. */
  seen(device: Device, version: string, now: number): void;
  /** Offers the device is eligible for, oldest release first (protocol §5). */
  offersFor(device: Device, version: string, now: number): Offer[] | Promise<Offer[]>;
  /** Records the offers actually made. */
  offered(deviceId: string, offers: readonly Offer[], now: number): void;
  /** Which deployments closed for which device (protocol §12: a closed one is not offered again), from memory when known. */
  deployments: Pick<DeploymentStates, 'isClosed' | 'closed'>;
  /** The device's latest state in a rollout, the rollout's own state and whether its release was withdrawn (from the database). */
  progress(rolloutId: string, deviceId: string): Promise<{ rollout: { releaseId: string; state: RolloutState; withdrawn: boolean } | undefined; state: DeviceState | null }>;
  /** One report (the core assigns its seq); durable before it resolves. */
  report(device: Device, report: Omit<Report, 'seq'>): Promise<void>;
  /** Tells every node that the device's tokens changed (revoked, or a new one issued). */
  tokensChanged(deviceId: string): Promise<void>;
  tokens: MenderTokenStore;
  headers: Pick<MenderArtifactStore, 'get' | 'peek'>;
  links: LinkSigner;
  logger: Logger;
  now: () => Date;
  publicUrl: string | undefined;
  linkTtlSeconds: number;
  maxJsonBytes: number;
}
