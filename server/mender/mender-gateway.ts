import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import semver from 'semver';
import { bearerToken, newToken } from '../auth/tokens.js';
import { identityOf, signatureVerifies } from '../devices/admission/device-identity.js';
import { deviceTokenHash } from '../devices/device-token.js';
import type { Device } from '../devices/device-store.js';
import type { GatewayOffer as Offer } from '../devices/poll-service.js';
import { AppError } from '../errors.js';
import { CANCELLED_STATE } from '../rollouts/cancel-update-service.js';
import type { EdgeReply, EdgeRoute } from '../http/device-edge.js';
import { decodeSegment, queryParams, SLUG_RE } from '../http/params.js';
import { refuseTransition } from '../protocol/report-rules.js';
import { validVersion } from '../protocol/versions.js';
import { CLOSED_STATES } from './deployment-states.js';
import type { MenderDeps } from './mender-deps.js';
import type { TokenOwner } from './mender-stores.js';
import { errorMessageOf, factsOf, inProgress, nextBody, parseInventory, parseStatus, providesOf, type Provides } from './mender-translate.js';

const AUTH = '/api/devices/v1/authentication/auth_requests';
const INVENTORY = '/api/devices/v1/inventory/device/attributes';
const NEXT_V2 = '/api/devices/v2/deployments/device/deployments/next';
const NEXT_V1 = '/api/devices/v1/deployments/device/deployments/next';
const DEPLOYMENT_RE = /^\/api\/devices\/v1\/deployments\/device\/deployments\/([^/?]+)\/(status|log)$/;

/** An auth request is small: id_data, a PEM key and a tenant token. */
const MAX_AUTH_BODY = 16 * 1024;
/** A deployment log may be long (bounded: errorMessageOf keeps what matters). */
const MAX_LOG_BODY = 4 * 1024 * 1024;
/** How often a polling device's last-seen time is written (as the native poll). */
const SEEN_RESOLUTION_MS = 60_000;


/** A status or log request: the device holding the token, and the deployment (rollout) it names. */
interface InDeployment {
  device: Device;
  rolloutId: string;
}

/** Artifact links expire on whole minutes (see `next`). */
const LINK_STEP_SECONDS = 60;
const NO_CONTENT = (): EdgeReply => ({ status: 204, headers: {}, body: undefined });
/** The path of a request URL, without its query. */
const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};
/** Two versions in their clean form (semver.valid's, which holds no space), compared once per pair. */
const comparisons = new LRUCache<string, boolean>({
  max: 1024,
  memoMethod: (pair) => {
    const [a, b] = pair.split(' ') as [string, string];
    return semver.lt(a, b);
  },
});
/**
 * Whether version `a` is below `b`; false when either is not a semantic version. Both are cleaned
 * first: semver accepts " 2.0.0" and "2.0.0 " as 2.0.0, and a signed release's version may be written so.
 */
const below = (a: string, b: string): boolean => {
  const x = validVersion(a);
  const y = validVersion(b);
  return x !== null && y !== null && comparisons.memo(`${x} ${y}`);
};

/** One deployment's `next` body for one origin, and the artifact and link expiry it was made for (see `bodyOf`). */
interface NextBody {
  sha256: string;
  expires: number;
  bytes: Buffer;
}
/** `next` bodies kept per deployment, one per origin. */
const ORIGINS_PER_DEPLOYMENT = 8;

/**
 * The device side of Mender's API (protocol §12) as routes of the device edge
 * (http/device-edge.ts), registered beside the native and DDI routes:
 * admission, inventory, deployments/next (v1 and v2), status and log. Each
 * translates and calls the device core through MenderDeps; the edge gives it
 * the request id, nosniff, the §7 error body and metrics. The artifact
 * download is mender-download-routes.ts.
 */
export function menderRoutes(deps: MenderDeps): EdgeRoute<unknown, unknown, unknown>[] {
  /**
   * The latest `next` body of each deployment per origin (the host the client used, when no public
   * URL is set), encoded once, with the artifact and link expiry it was made for: every client polling
   * a deployment in the same minute gets the same bytes. Keyed by the rollout id, a string whose hash
   * is already known, then by origin.
   */
  const bodies = new LRUCache<string, Map<string, NextBody>>({ max: 1000 });

  /**
   * The device holding a Mender token: 401 for none, an unknown, expired or revoked one (the client
   * re-authenticates). From memory, with no promise, once the token and the device are cached.
   */
  const deviceOf = (req: IncomingMessage): Device | Promise<Device> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !token.startsWith('mdr_')) throw new AppError('unauthorized', 'a device token from auth_requests is required');
    const owner = deps.tokens.lookup(deviceTokenHash(token));
    return owner instanceof Promise ? owner.then(deviceOfOwner) : deviceOfOwner(owner);
  };
  const deviceOfOwner = (owner: TokenOwner | undefined): Device | Promise<Device> => {
    if (!owner || owner.expiresAt <= deps.now().getTime()) throw new AppError('unauthorized', 'the token is not valid (ask auth_requests for a new one)');
    const device = deps.device(owner.deviceId);
    return device instanceof Promise ? device.then(enrolled) : enrolled(device);
  };
  const enrolled = (device: Device | undefined): Device => {
    if (!device) throw new AppError('unauthorized', 'the device is no longer enrolled');
    return device;
  };

  const origin = (req: IncomingMessage): string => {
    if (deps.publicUrl !== undefined) return deps.publicUrl;
    const host = req.headers.host;
    if (host === undefined || !/^[A-Za-z0-9.:[\]_-]{1,255}$/.test(host)) throw new AppError('bad_request', 'a Host header is needed to build the artifact link (or set OTA_PUBLIC_URL)');
    return `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${host}`;
  };

  // protocol §12 auth_requests. Neither a pending identity nor a bad signature is a guessed credential
  // (a pending client asks every second): their 401s do not feed the refused-credential lockout.
  const authRequest = async (raw: Buffer, req: IncomingMessage): Promise<string> => {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new AppError('invalid_json', 'the request body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('invalid_json', 'the request body must be a JSON object');
    const tenant = (body as { tenant_token?: unknown }).tenant_token;
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant.length > 4096)) throw new AppError('validation_failed', 'tenant_token is a string');
    const identity = identityOf(body as { id_data?: unknown; pubkey?: unknown });
    const signature = req.headers['x-men-signature'];
    if (!signatureVerifies(identity.key, raw, typeof signature === 'string' ? signature : undefined)) {
      throw new AppError('unauthorized', 'X-MEN-Signature does not verify with the key in the request', { lockout: false });
    }
    const decision = await deps.authenticate(identity);
    if (decision.status !== 'accepted') {
      throw new AppError('unauthorized', decision.status === 'pending' ? 'the device is waiting to be accepted by an operator' : 'the device was rejected', { lockout: false });
    }
    await deps.enroll(decision.deviceId);
    const token = newToken('mdr');
    await deps.tokens.issue(decision.deviceId, deviceTokenHash(token), deps.now().getTime());
    await deps.tokensChanged(decision.deviceId);
    return token;
  };

  const inventory = async (device: Device, body: unknown, req: IncomingMessage): Promise<void> => {
    const given = parseInventory(body);
    // PUT replaces the device's attributes, PATCH merges into them (Mender's device inventory API).
    const attributes = req.method === 'PATCH' ? { ...device.attributes, ...given } : given;
    await deps.setAttributes({ id: device.id, ...factsOf(attributes, device), attributes });
  };

  /** Whether the client can take this offer at all: a `.mender` artifact here, inside its window, not a downgrade. */
  const takeable = (o: Offer, installed: string): boolean => {
    const artifact = o.release.artifact;
    // Only artifacts this server holds can be linked (protocol §12: only `.mender` files are offered).
    if (!artifact || artifact.url !== undefined || o.release.version === undefined) return false;
    // protocol §7 maintenance windows: a Mender client cannot be told to wait, so nothing is offered until the window opens.
    if (o.installAfter !== undefined) return false;
    // protocol §4 device-side anti-rollback, done here for a client that has none.
    return !(below(o.release.version, installed) && !o.release.downgrade);
  };

  /**
   * The first offer the client can take whose artifact header is known and whose deployment is
   * not closed for the device. Synchronous while both are in memory (every poll after a device's
   * first); a read continues from the offer that needed it.
   */
  const choose = (device: Device, offers: readonly Offer[], installed: string, from = 0): Offer | undefined | Promise<Offer | undefined> => {
    for (let i = from; i < offers.length; i++) {
      const o = offers[i] as Offer;
      if (!takeable(o, installed)) continue;
      const rest = (): Offer | undefined | Promise<Offer | undefined> => choose(device, offers, installed, i + 1);
      const open = (closed: boolean): Offer | undefined | Promise<Offer | undefined> => (closed ? rest() : o);
      const sha256 = (o.release.artifact as { sha256: string }).sha256;
      const header = deps.headers.peek(sha256);
      if (header === undefined) {
        return deps.headers.get(sha256).then((h) => {
          if (!h) return rest();
          const closed = deps.deployments.isClosed(o.rolloutId, device.id);
          return closed instanceof Promise ? closed.then(open) : open(closed);
        });
      }
      const closed = deps.deployments.isClosed(o.rolloutId, device.id);
      if (closed instanceof Promise) return closed.then(open);
      if (!closed) return o;
    }
    return undefined;
  };

  /**
   * The deployment to take now, as Mender's JSON body; undefined: nothing (204). No promise while
   * the device's offers, the artifact header and the deployment's state are in memory.
   */
  const next = (device: Device, req: IncomingMessage, provides: Provides): Buffer | undefined | Promise<Buffer | undefined> => {
    const now = deps.now().getTime();
    // The client states its device type with every poll: a device not yet seen in inventory gets its model here.
    if (provides.deviceType === undefined || provides.deviceType === device.model) return nextFor(device, req, provides, now);
    const { model } = factsOf({ device_type: provides.deviceType }, device);
    if (model === device.model) return nextFor(device, req, provides, now);
    const typed = { ...device, model };
    return deps.setAttributes({ id: device.id, model, version: device.version, attributes: { ...device.attributes, device_type: model } })
      .then(() => nextFor(typed, req, provides, now));
  };

  const nextFor = (device: Device, req: IncomingMessage, provides: Provides, now: number): Buffer | undefined | Promise<Buffer | undefined> => {
    const installed = provides.artifactName !== undefined ? (validVersion(provides.artifactName) ?? device.version) : device.version;
    if (installed !== device.version || now - device.lastSeen >= SEEN_RESOLUTION_MS) deps.seen(device, installed, now);
    const offers = deps.offersFor(device, installed, now);
    const chosen = (list: Offer[]): Buffer | undefined | Promise<Buffer | undefined> => {
      const offer = list.length ? choose(device, list, installed) : undefined;
      return offer instanceof Promise ? offer.then((o) => bodyOf(device, req, o, now)) : bodyOf(device, req, offer, now);
    };
    return offers instanceof Promise ? offers.then(chosen) : chosen(offers);
  };

  /** The offer made, as `next`'s body (the deployment's latest, while its artifact, origin and link expiry are the same). */
  const bodyOf = (device: Device, req: IncomingMessage, offer: Offer | undefined, now: number): Buffer | undefined => {
    if (!offer) return undefined;
    deps.offered(device.id, [offer], now);
    const { sha256 } = offer.release.artifact as { sha256: string };
    // The link lives at least the configured time, to the next whole minute: every client polling in the
    // same minute gets the same link, so its HMAC and the body are made once per minute, not per poll.
    const expires = Math.ceil((Math.floor(now / 1000) + deps.linkTtlSeconds) / LINK_STEP_SECONDS) * LINK_STEP_SECONDS;
    const at = origin(req);
    let byOrigin = bodies.get(offer.rolloutId);
    const cached = byOrigin?.get(at);
    if (cached !== undefined && cached.expires === expires && cached.sha256 === sha256) return cached.bytes;
    const bytes = Buffer.from(nextBody({
      id: offer.rolloutId,
      version: offer.release.version as string,
      models: offer.release.models,
      uri: `${at}${deps.links.pathFor({ sha256, expires })}`,
      expires: new Date(expires * 1000),
    }));
    if (byOrigin === undefined) bodies.set(offer.rolloutId, (byOrigin = new Map()));
    // A few origins per deployment (an address and a name, say); any Host header beyond them replaces the oldest.
    if (!byOrigin.has(at) && byOrigin.size >= ORIGINS_PER_DEPLOYMENT) byOrigin.delete(byOrigin.keys().next().value as string);
    byOrigin.set(at, { sha256, expires, bytes });
    return bytes;
  };

  const status = async ({ device, rolloutId }: InDeployment, body: unknown): Promise<void> => {
    const { state } = parseStatus(body);
    const { rollout, state: current } = await deps.progress(rolloutId, device.id);
    if (!rollout) throw new AppError('not_found', `no deployment ${rolloutId}`);
    const at = deps.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const base = { rolloutId, releaseId: rollout.releaseId, at };
    // protocol §7 cancel-update: this device's update was withdrawn by an operator; work in progress stops.
    if ((current as string | null) === CANCELLED_STATE && inProgress(state)) throw new AppError('conflict', `deployment ${rolloutId} was cancelled for this device`);
    // protocol §12 (and §7 withdraw: a device that has not installed it does not start): after a halt,
    // a cancel or a withdrawal of the release, work in progress is told to stop (409) and counted declined.
    const stopped = rollout.state === 'halted' || rollout.state === 'cancelled' || rollout.withdrawn;
    if (inProgress(state) && stopped) {
      const why = rollout.withdrawn ? `release ${rollout.releaseId} was withdrawn` : `the rollout is ${rollout.state}`;
      if (current !== 'declined' && !refuseTransition(current, 'declined')) {
        await deps.report(device, { ...base, state: 'declined', error: { code: 'cancelled', message: `${why}; the client was told to abort` } });
        await deps.deployments.closed(rolloutId, device.id);
      }
      throw new AppError('conflict', `deployment ${rolloutId} was aborted: ${why}`);
    }
    // A repeated status, or one that would go back, is answered 204 and stores nothing (the client
    // retries anything else and may roll the install back).
    if (current === state || refuseTransition(current, state)) return;
    await deps.report(device, { ...base, state, ...(state === 'failed' ? { error: { code: 'mender_failure', message: 'the Mender client reported failure (its log follows)' } } : {}) });
    if (CLOSED_STATES.has(state)) await deps.deployments.closed(rolloutId, device.id);
  };

  const log = async ({ device, rolloutId }: InDeployment, body: unknown): Promise<void> => {
    const message = errorMessageOf(body);
    const { rollout, state: current } = await deps.progress(rolloutId, device.id);
    if (!rollout) throw new AppError('not_found', `no deployment ${rolloutId}`);
    // protocol §12: the log keeps the failure's error message; the same state again only adds the error.
    if (current === 'failed' && message.length > 0) {
      await deps.report(device, { rolloutId, releaseId: rollout.releaseId, state: 'failed', at: deps.now().toISOString().replace(/\.\d{3}Z$/, 'Z'), error: { code: 'mender_failure', message } });
    }
  };

  /** A path with a deployment id: a malformed id is 400 before the credential is looked at. */
  const inDeployment = (req: IncomingMessage, raw: string): InDeployment | Promise<InDeployment> => {
    const rolloutId = decodeSegment(raw, SLUG_RE, 'deployment id');
    const device = deviceOf(req);
    return device instanceof Promise ? device.then((d) => ({ device: d, rolloutId })) : { device, rolloutId };
  };

  const nextReply = (body: Buffer | undefined): EdgeReply =>
    body === undefined ? NO_CONTENT() : { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' }, body };

  const deploymentRoute = (kind: 'status' | 'log', handle: (d: InDeployment, body: unknown) => Promise<void>, maxBodyBytes?: number): EdgeRoute<string, InDeployment, void> => ({
    route: `/api/devices/v1/deployments/device/deployments/:id/${kind}`,
    methods: ['PUT'],
    match: (url) => {
      const m = DEPLOYMENT_RE.exec(pathOf(url));
      return m && m[2] === kind ? (m[1] as string) : undefined;
    },
    auth: (req, raw) => inDeployment(req, raw),
    body: 'json',
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    core: (d, body) => handle(d, body),
    send: NO_CONTENT,
  });

  const routes: EdgeRoute<unknown, unknown, unknown>[] = [];
  const add = <M, A, R>(r: EdgeRoute<M, A, R>): void => void routes.push(r as EdgeRoute<unknown, unknown, unknown>);
  add<true, Device, Buffer | undefined>({
    route: NEXT_V2,
    methods: ['POST'],
    match: (url) => (pathOf(url) === NEXT_V2 ? true : undefined),
    auth: (req) => deviceOf(req),
    // The bytes, with the JSON body's checks (415, 413); parsed by `providesOf` (the §7 JSON rules).
    body: 'bytes',
    core: (device, raw, req) => next(device, req, providesOf(raw as Buffer)),
    send: nextReply,
  });
  add<string, Device, Buffer | undefined>({
    route: NEXT_V1,
    methods: ['GET'],
    match: (url) => (pathOf(url) === NEXT_V1 ? url.slice(NEXT_V1.length + 1) : undefined),
    auth: (req) => deviceOf(req),
    body: 'none',
    core: (device, _body, req) => {
      const params = queryParams((req.url ?? '').slice(NEXT_V1.length + 1));
      const one = (k: string): string | undefined => {
        const all = params.getAll(k);
        if (all.length > 1 || (all[0] !== undefined && all[0].length > 1024)) throw new AppError('bad_request', `${k} must be given at most once`);
        return all[0];
      };
      return next(device, req, { deviceType: one('device_type'), artifactName: one('artifact_name') });
    },
    send: nextReply,
  });
  add<true, undefined, string>({
    route: AUTH,
    methods: ['POST'],
    match: (url) => (pathOf(url) === AUTH ? true : undefined),
    // The credential is the request itself: its signature is checked against the key it carries.
    auth: () => undefined,
    body: 'bytes',
    maxBodyBytes: MAX_AUTH_BODY,
    core: (_none, raw, req) => authRequest(raw as Buffer, req),
    // The client uses the body verbatim as its token: no JSON, no newline.
    send: (token) => ({ status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(token), 'Cache-Control': 'no-store' }, body: token }),
  });
  add<true, Device, void>({
    route: INVENTORY,
    methods: ['PUT', 'PATCH'],
    match: (url) => (pathOf(url) === INVENTORY ? true : undefined),
    auth: (req) => deviceOf(req),
    body: 'json',
    core: (device, body, req) => inventory(device, body, req),
    send: () => ({ status: 200, headers: { 'Content-Length': 0 }, body: undefined }),
  });
  add(deploymentRoute('status', status));
  add(deploymentRoute('log', log, MAX_LOG_BODY));
  return routes;
}
