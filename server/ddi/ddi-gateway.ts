import type { ArtifactDetails } from '../artifacts/artifact-store.js';
import type { Principal } from '../auth/principal.js';
import type { AttributeValue } from '../cohorts/cohort.js';
import type { Device } from '../devices/device-store.js';
import type { Offer } from '../devices/poll-service.js';
import { AppError } from '../errors.js';
import { refuseTransition, type Report, type ReportState } from '../protocol/report-rules.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { DdiAction, DdiController, DdiStore } from './ddi-store.js';
import { entryBoundedLru } from '../lib/entry-bounded-lru.js';
import {
  CANCELLED, deploymentBaseOf, factsOf, meaningOf, reportOf, sleepOf,
  type Authorization, type DdiConfigData, type DdiFeedback,
} from './ddi-wire.js';

/**
 * What the gateway needs from the rest of the server, in the device core's
 * words (enroll, authenticate, offers, report, set attributes). Wired at the
 * composition root to the services the native routes call: no rollout rule
 * (eligibility, stages, halts, buckets, pauses) is restated here.
 */
export interface DdiDeps {
  /** The device if `token` is its own device token (synchronous when it is cached), else undefined. */
  authenticate(deviceId: string, token: string): Device | undefined | Promise<Device | undefined>;
  /** The operator an operator token belongs to, if any. */
  authenticateOperator(token: string): Promise<Principal | undefined>;
  device(deviceId: string): Promise<Device | undefined>;
  /** Enrolls a device (protocol §7 enrollment) on behalf of `by`; its token is not needed by a gateway. */
  enroll(deviceId: string, by: Principal): Promise<void>;
  /** The offers the device is eligible for now (protocol §5), recording nothing. */
  offers(device: Device, now: number): readonly Offer[] | Promise<readonly Offer[]>;
  /** Records an offer as made to the device (write-behind, as a native poll does). */
  made(deviceId: string, offer: Offer, now: number): void;
  /** protocol §7: outside the offer's maintenance window, when it next opens; undefined when it may install now. */
  installAfter(offer: Offer, now: number): string | undefined;
  /** The same for an open action the device is no longer eligible for: the window of the stage it was offered through. */
  installAfterOffered(rolloutId: string, deviceId: string, now: number): Promise<string | undefined>;
  /** Whether the rollout still serves its release (false once halted or cancelled). */
  /** Whether the rollout still offers its release to this device (not halted, cancelled, or cancelled for this device alone). */
  serving(rolloutId: string, deviceId: string): boolean;
  /** Durable report ingestion; the server numbers the report; `alongside` commits with it. */
  report(device: Device, report: Report, alongside: () => Promise<void>): Promise<void>;
  /** Replaces the device's model, installed version and attributes. */
  setAttributes(deviceId: string, facts: { model: string; version: string; attributes: Record<string, AttributeValue> }): Promise<void>;
  /** Notes the device was seen with this installed version (write-behind). */
  seen(deviceId: string, version: string, now: number): void;
  release(releaseId: string): Promise<{ version: string | undefined; mandatory: boolean; artifact: { sha256: string } | undefined } | undefined>;
  artifact(sha256: string): Promise<ArtifactDetails | undefined>;
  /** Tells every node the device's DDI record changed (their cached copy is dropped). */
  changed(deviceId: string): Promise<void>;
  store: DdiStore;
  now(): Date;
  config: { pollSeconds: number; modelAttribute: string; versionAttribute: string; cacheEntries: number };
}

export interface Links {
  /** Absolute prefix of this controller's resources: `<base>/<tenant>/controller/v1/<controllerId>`. */
  controller: string;
}

const SEEN_RESOLUTION_MS = 60_000;

export interface Authorized {
  device: Device;
  /** The gateway operator acting for the device (GatewayToken); absent for its own TargetToken. */
  by?: Principal;
}

export type DdiGateway = ReturnType<typeof createDdiGateway>;

export function createDdiGateway(deps: DdiDeps) {
  // Controllers that polled before, in memory: the base poll reads no database for them (protocol §11,
  // "served from memory"). Bounded; a change on any node drops the entry (forget, via the change feed).
  // lru-cache: constant-time eviction (a Map emptied from its front skips every slot deleted there).
  const controllers = entryBoundedLru<string, DdiController>(deps.config.cacheEntries);
  const sleep = sleepOf(deps.config.pollSeconds);

  const remember = (deviceId: string, c: DdiController): DdiController => {
    if (deps.config.cacheEntries > 0) controllers.set(deviceId, c);
    return c;
  };
  const controllerOf = (deviceId: string): DdiController | Promise<DdiController> =>
    controllers.get(deviceId) ?? deps.store.controller(deviceId).then((c) => remember(deviceId, c));
  const load = async (deviceId: string): Promise<DdiController> => controllers.get(deviceId) ?? remember(deviceId, await deps.store.controller(deviceId));

  /** protocol §11 auth: the device's own TargetToken, or a GatewayToken acting for any controllerId. */
  const authorize = (deviceId: string, auth: Authorization, opts: { enrollUnknown: boolean }): Authorized | Promise<Authorized> => {
    if (auth.kind === 'target') {
      const d = deps.authenticate(deviceId, auth.token);
      if (d instanceof Promise) return d.then((found) => ({ device: refuseMissing(found) }));
      return { device: refuseMissing(d) };
    }
    return (async () => {
      const by = await deps.authenticateOperator(auth.token);
      if (by?.kind !== 'operator' || by.role !== 'gateway') throw new AppError('unauthorized', 'the GatewayToken is not a valid token of the gateway role');
      let device = await deps.device(deviceId);
      if (!device && opts.enrollUnknown) {
        // hawkBit's behaviour: an unknown controllerId polling with the gateway token is registered.
        try {
          await deps.enroll(deviceId, by);
        } catch (e) {
          // Two first polls at once: the other one enrolled it.
          if (!(e instanceof AppError && e.code === 'conflict')) throw e;
        }
        device = await deps.device(deviceId);
      }
      if (!device) throw new AppError('not_found', `no controller ${deviceId}; it registers with its first base poll`);
      return { device, by };
    })();
  };

  /**
   * The oldest open action, or one to cancel. A new action is made only while none is open, in
   * the order the core offers releases (protocol §5: by issuedAt), so the oldest is the lowest id.
   */
  const openFor = (deviceId: string, c: DdiController): { linked?: DdiAction; cancel?: DdiAction } => {
    let linked: DdiAction | undefined;
    for (const a of c.actions) {
      if (a.closed) continue;
      // protocol §11: only a halt or cancel turns an open action into cancelAction.
      if (!deps.serving(a.rolloutId, deviceId)) return { cancel: a };
      linked ??= a;
    }
    return { linked };
  };

  const body = (links: Links, c: DdiController, action: { linked?: DdiAction; cancel?: DdiAction }): string => {
    const parts: string[] = [];
    if (action.cancel) parts.push(`"cancelAction":{"href":${JSON.stringify(`${links.controller}/cancelAction/${action.cancel.id}`)}}`);
    else if (action.linked) parts.push(`"deploymentBase":{"href":${JSON.stringify(`${links.controller}/deploymentBase/${action.linked.id}`)}}`);
    if (!c.configured) parts.push(`"configData":{"href":${JSON.stringify(`${links.controller}/configData`)}}`);
    return `{"config":{"polling":{"sleep":"${sleep}"}},"_links":{${parts.join(',')}}}`;
  };

  /** A new action for the first eligible release with an artifact that this device never had an action for. */
  const nextAction = (c: DdiController, offers: readonly Offer[]): Offer | undefined =>
    // protocol §11: only releases with an artifact are offered over DDI; a closed action is never offered again.
    offers.find((o) => o.release.artifactSha256 !== undefined && !c.actions.some((a) => a.rolloutId === o.release.id && a.releaseId === o.release.releaseId));

  const pollWith = (device: Device, c: DdiController, links: Links, now: number): string | Promise<string> => {
    if (now - device.lastSeen >= SEEN_RESOLUTION_MS) deps.seen(device.id, device.version, now);
    const open = openFor(device.id, c);
    if (open.cancel || open.linked) return body(links, c, open);
    const offers = deps.offers(device, now);
    const decide = (found: readonly Offer[]): string | Promise<string> => {
      const offer = nextAction(c, found);
      if (!offer) return body(links, c, {});
      return (async () => {
        const action = await deps.store.open(device.id, offer.release.id, offer.release.releaseId, now);
        deps.made(device.id, offer, now);
        if (!c.actions.some((a) => a.id === action.id)) c.actions.push(action);
        await deps.changed(device.id);
        return body(links, c, { linked: action });
      })();
    };
    return offers instanceof Promise ? offers.then(decide) : decide(offers);
  };

  const actionOf = async (deviceId: string, actionId: number): Promise<DdiAction> => {
    const c = await load(deviceId);
    const a = c.actions.find((x) => x.id === actionId);
    if (!a) throw new AppError('not_found', `action ${actionId} is not an action of controller ${deviceId}`);
    return a;
  };

  /** Stores the report and the action's new state in one durable commit (protocol §7: 200 only once on disk). */
  const record = async (device: Device, action: DdiAction, state: ReportState, closes: boolean, extra: { error?: { code: string; message: string }; version?: string }): Promise<void> => {
    const now = deps.now();
    await deps.report(device, reportOf(action, state, toTimestamp(now), extra), async () => {
      await deps.store.setState(action.id, state, closes, now.getTime());
      await deps.changed(device.id);
    });
    action.state = state;
    action.closed = closes;
  };

  return {
    authorize,
    /** GET …/{controllerId}: the base poll (protocol §11); synchronous for a controller that polled before. */
    poll(device: Device, links: Links): string | Promise<string> {
      const now = deps.now().getTime();
      const c = controllerOf(device.id);
      return c instanceof Promise ? c.then((loaded) => pollWith(device, loaded, links, now)) : pollWith(device, c, links, now);
    },

    async deploymentBase(device: Device, actionId: number, links: Links & { artifact: (sha256: string, filename: string) => string }): Promise<unknown> {
      const action = await actionOf(device.id, actionId);
      if (action.closed) throw new AppError('action_closed', `action ${actionId} is closed`);
      const release = await deps.release(action.releaseId);
      const artifact = release?.artifact && (await deps.artifact(release.artifact.sha256));
      if (!release || !artifact || release.version === undefined) throw new AppError('not_found', `the release of action ${actionId} has no artifact on this server`);
      const filename = artifact.name ?? `${action.releaseId}.swu`;
      // protocol §7: outside the stage's maintenance window the client may download but must not install yet.
      const now = deps.now().getTime();
      // An action stays linked when the device is no longer eligible (§11: a cohort or version change);
      // its window still holds then: the one of the stage it was offered through.
      const offer = (await deps.offers(device, now)).find((o) => o.release.id === action.rolloutId);
      const installAfter = offer !== undefined ? deps.installAfter(offer, now) : await deps.installAfterOffered(action.rolloutId, device.id, now);
      const outsideWindow = installAfter !== undefined;
      return deploymentBaseOf({
        actionId, releaseId: action.releaseId, version: release.version, mandatory: release.mandatory, outsideWindow,
        artifact: { sha256: artifact.sha256, size: artifact.size, sha1: artifact.sha1, md5: artifact.md5, filename, href: links.artifact(artifact.sha256, filename) },
      });
    },

    /** POST …/deploymentBase/{actionId}/feedback (protocol §11 table). */
    async feedback(device: Device, actionId: number, f: DdiFeedback): Promise<void> {
      const meaning = meaningOf(f);
      const action = await actionOf(device.id, actionId);
      if (action.closed) throw new AppError('action_closed', `action ${actionId} is closed`);
      if (meaning.kind === 'progress') {
        // A repeat, or progress behind what the action already reported, stores nothing (clients abort on any non-2xx).
        if (action.state === meaning.state || (action.state !== null && refuseTransition(action.state as ReportState, meaning.state) !== undefined)) return;
        return record(device, action, meaning.state, false, {});
      }
      if (meaning.state === 'applied') {
        const release = await deps.release(action.releaseId);
        const version = release?.version;
        await record(device, action, 'applied', true, version === undefined ? {} : { version });
        // protocol §11: the installed version follows `applied` (the next configData is the truth).
        if (version !== undefined) deps.seen(device.id, version, deps.now().getTime());
        return;
      }
      return record(device, action, meaning.state, true, meaning.error ? { error: meaning.error } : {});
    },

    /** GET …/cancelAction/{actionId}: only for an open action whose rollout was halted or cancelled. */
    async cancelAction(device: Device, actionId: number): Promise<unknown> {
      const action = await actionOf(device.id, actionId);
      if (action.closed || deps.serving(action.rolloutId, device.id)) throw new AppError('not_found', `action ${actionId} is not being cancelled`);
      return { id: String(actionId), cancelAction: { stopId: String(actionId) } };
    },

    /** POST …/cancelAction/{actionId}/feedback: closed closes the action as declined (code cancelled), never applied. */
    async cancelFeedback(device: Device, actionId: number, f: DdiFeedback): Promise<void> {
      const action = await actionOf(device.id, actionId);
      if (action.closed) throw new AppError('action_closed', `action ${actionId} is closed`);
      if (deps.serving(action.rolloutId, device.id)) throw new AppError('not_found', `action ${actionId} is not being cancelled`);
      const { execution } = f.status;
      // Until the client says the cancel is done (closed, or canceled), nothing changes.
      if (execution !== 'closed' && execution !== 'canceled') return;
      return record(device, action, 'declined', true, { error: { ...CANCELLED } });
    },

    /** PUT …/configData: the attributes become the device's (cohort rules see them). */
    async configData(device: Device, body: DdiConfigData): Promise<void> {
      const names = { model: deps.config.modelAttribute, version: deps.config.versionAttribute };
      const facts = factsOf(body, device.attributes, names, device.version);
      await deps.setAttributes(device.id, facts);
      await deps.store.configured(device.id, deps.now().getTime());
      const cached = controllers.get(device.id);
      if (cached) cached.configured = true;
      await deps.changed(device.id);
    },

    /** Drops a controller's cached record (another node changed it). */
    forget(deviceId: string): void {
      controllers.delete(deviceId);
    },
  };
}

function refuseMissing(d: Device | undefined): Device {
  if (!d) throw new AppError('unauthorized', 'the TargetToken is not this controller\'s device token');
  return d;
}
