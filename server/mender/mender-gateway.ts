import type { IncomingMessage, ServerResponse } from 'node:http';
import semver from 'semver';
import { bearerToken, newToken } from '../auth/tokens.js';
import { identityOf, signatureVerifies } from '../devices/admission/device-identity.js';
import { deviceTokenHash } from '../devices/device-token.js';
import type { Device } from '../devices/device-store.js';
import type { GatewayOffer as Offer } from '../devices/poll-service.js';
import { AppError } from '../errors.js';
import { CANCELLED_STATE } from '../rollouts/cancel-update-service.js';
import { failureOf, writeError } from '../http/error-handler.js';
import { isDiscarding } from '../http/linger.js';
import { requestIdOf } from '../http/request-id.js';
import { SLUG_RE } from '../http/params.js';
import { readJsonBody, readJsonBytes } from '../http/raw-json-body.js';
import type { RequestObserver } from '../http/request-observer.js';
import { refuseTransition, type DeviceState } from '../protocol/report-rules.js';
import type { MenderDeps } from './mender-deps.js';
import { errorMessageOf, factsOf, inProgress, nextBody, parseInventory, parseProvides, parseStatus } from './mender-translate.js';

const BASE = '/api/devices';
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
/** Deployments a device closed, remembered per node so `next` reads the store only for open ones. */
const MAX_CLOSED = 200_000;

/** protocol §12: these end a Mender deployment for the device; it is not offered again. */
const CLOSED: ReadonlySet<DeviceState> = new Set(['applied', 'failed', 'rolled_back', 'rejected', 'declined']);

const noContent = (res: ServerResponse): void => {
  res.writeHead(204);
  res.end();
};

/**
 * The device side of Mender's API (protocol §12), served from node:http
 * ahead of Express like the native device routes: admission, inventory,
 * deployments/next, status and log. It translates and calls the device
 * core through MenderDeps; the artifact download is mender-download-routes.ts.
 * Returns false for any request that is not one of these.
 */
export function menderGateway(deps: MenderDeps, observer: RequestObserver) {
  const closed = new Set<string>();
  const remember = (rolloutId: string, deviceId: string): void => {
    if (closed.size >= MAX_CLOSED) closed.delete(closed.values().next().value as string);
    closed.add(`${rolloutId}\n${deviceId}`);
  };

  /** The device holding a Mender token: 401 for none, an unknown, expired or revoked one (the client re-authenticates). */
  const deviceOf = async (req: IncomingMessage): Promise<Device> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !token.startsWith('mdr_')) throw new AppError('unauthorized', 'a device token from auth_requests is required');
    const owner = await deps.tokens.lookup(deviceTokenHash(token));
    if (!owner || owner.expiresAt <= deps.now().getTime()) throw new AppError('unauthorized', 'the token is not valid (ask auth_requests for a new one)');
    const device = await deps.device(owner.deviceId);
    if (!device) throw new AppError('unauthorized', 'the device is no longer enrolled');
    return device;
  };

  const origin = (req: IncomingMessage): string => {
    if (deps.publicUrl !== undefined) return deps.publicUrl;
    const host = req.headers.host;
    if (host === undefined || !/^[A-Za-z0-9.:[\]_-]{1,255}$/.test(host)) throw new AppError('bad_request', 'a Host header is needed to build the artifact link (or set OTA_PUBLIC_URL)');
    return `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${host}`;
  };

  // protocol §12 auth_requests. Neither a pending identity nor a bad signature counts toward the
  // refused-credential lockout (a pending client asks every second), so those 401s are written here.
  const authRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readJsonBytes(req, MAX_AUTH_BODY);
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
      return writeError(res, new AppError('unauthorized', 'X-MEN-Signature does not verify with the key in the request'));
    }
    const decision = await deps.authenticate(identity);
    if (decision.status !== 'accepted') {
      return writeError(res, new AppError('unauthorized', decision.status === 'pending' ? 'the device is waiting to be accepted by an operator' : 'the device was rejected'));
    }
    await deps.enroll(decision.deviceId);
    const token = newToken('mdr');
    await deps.tokens.issue(decision.deviceId, deviceTokenHash(token), deps.now().getTime());
    await deps.tokensChanged(decision.deviceId);
    // The client uses the body verbatim as its token: no JSON, no newline.
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(token), 'Cache-Control': 'no-store' });
    res.end(token);
  };

  const inventory = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const device = await deviceOf(req);
    const given = parseInventory(await readJsonBody(req, deps.maxJsonBytes));
    // PUT replaces the device's attributes, PATCH merges into them (Mender's device inventory API).
    const attributes = req.method === 'PATCH' ? { ...device.attributes, ...given } : given;
    await deps.setAttributes({ id: device.id, ...factsOf(attributes, device), attributes });
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  };

  /** The first offer the client can take: a `.mender` artifact here, not closed, not a downgrade. */
  const choose = async (device: Device, offers: readonly Offer[], installed: string): Promise<Offer | undefined> => {
    for (const o of offers) {
      const artifact = o.release.artifact;
      // Only artifacts this server holds can be linked (protocol §12: only `.mender` files are offered).
      if (!artifact || artifact.url !== undefined || o.release.version === undefined) continue;
      const header = deps.headers.peek(artifact.sha256) ?? (await deps.headers.get(artifact.sha256));
      if (!header) continue;
      // protocol §4 device-side anti-rollback, done here for a client that has none.
      if (semver.valid(installed) && semver.lt(o.release.version, installed) && !o.release.downgrade) continue;
      if (closed.has(`${o.rolloutId}\n${device.id}`)) continue;
      const state = await deps.stateOf(o.rolloutId, device.id);
      if (state !== null && CLOSED.has(state)) {
        remember(o.rolloutId, device.id);
        continue;
      }
      return o;
    }
    return undefined;
  };

  const next = async (req: IncomingMessage, res: ServerResponse, provides: { deviceType: string | undefined; artifactName: string | undefined }): Promise<void> => {
    let device = await deviceOf(req);
    const now = deps.now().getTime();
    // The client states its device type with every poll: a device not yet seen in inventory gets its model here.
    const { model } = factsOf(provides.deviceType === undefined ? {} : { device_type: provides.deviceType }, device);
    if (model !== device.model) {
      await deps.setAttributes({ id: device.id, model, version: device.version, attributes: { ...device.attributes, device_type: model } });
      device = { ...device, model };
    }
    const installed = provides.artifactName !== undefined ? (semver.valid(provides.artifactName) ?? device.version) : device.version;
    if (installed !== device.version || now - device.lastSeen >= SEEN_RESOLUTION_MS) deps.seen(device, installed, now);
    const offers = await deps.offersFor(device, installed, now);
    const offer = offers.length ? await choose(device, offers, installed) : undefined;
    if (!offer) return noContent(res);
    deps.offered(device.id, [offer], now);
    const artifact = offer.release.artifact as { sha256: string };
    const expires = Math.floor(now / 1000) + deps.linkTtlSeconds;
    const body = nextBody({
      id: offer.rolloutId,
      version: offer.release.version as string,
      models: offer.release.models,
      uri: `${origin(req)}${deps.links.pathFor({ sha256: artifact.sha256, expires })}`,
      expires: new Date(expires * 1000),
    });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  };

  const deploymentId = (raw: string): string => {
    let id: string;
    try {
      id = decodeURIComponent(raw);
    } catch {
      throw new AppError('bad_request', 'deployment id is not valid');
    }
    if (!SLUG_RE.test(id)) throw new AppError('bad_request', 'deployment id is not valid');
    return id;
  };

  const status = async (req: IncomingMessage, res: ServerResponse, rolloutId: string): Promise<void> => {
    const device = await deviceOf(req);
    const { state } = parseStatus(await readJsonBody(req, deps.maxJsonBytes));
    const { rollout, state: current } = await deps.progress(rolloutId, device.id);
    if (!rollout) throw new AppError('not_found', `no deployment ${rolloutId}`);
    const at = deps.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const base = { rolloutId, releaseId: rollout.releaseId, at };
    // protocol §12: after a halt or cancel, work in progress is told to stop (409) and counted declined.
    if ((rollout.state === 'halted' || rollout.state === 'cancelled') && inProgress(state)) {
      if (current !== 'declined' && !refuseTransition(current, 'declined')) {
        await deps.report(device, { ...base, state: 'declined', error: { code: 'cancelled', message: `the rollout was ${rollout.state}; the client was told to abort` } });
        remember(rolloutId, device.id);
      }
      throw new AppError('conflict', `deployment ${rolloutId} was aborted: the rollout is ${rollout.state}`);
    }
    // protocol §7 cancel-update: this device's update was withdrawn by an operator; work in progress stops.
    if ((current as string | null) === CANCELLED_STATE && inProgress(state)) throw new AppError('conflict', `deployment ${rolloutId} was cancelled for this device`);
    // A repeated status, or one that would go back, is answered 204 and stores nothing (the client
    // retries anything else and may roll the install back).
    if (current === state || refuseTransition(current, state)) return noContent(res);
    await deps.report(device, { ...base, state, ...(state === 'failed' ? { error: { code: 'mender_failure', message: 'the Mender client reported failure (its log follows)' } } : {}) });
    if (CLOSED.has(state)) remember(rolloutId, device.id);
    noContent(res);
  };

  const log = async (req: IncomingMessage, res: ServerResponse, rolloutId: string): Promise<void> => {
    const device = await deviceOf(req);
    const message = errorMessageOf(await readJsonBody(req, MAX_LOG_BODY));
    const { rollout, state: current } = await deps.progress(rolloutId, device.id);
    if (!rollout) throw new AppError('not_found', `no deployment ${rolloutId}`);
    // protocol §12: the log keeps the failure's error message; the same state again only adds the error.
    if (current === 'failed' && message.length > 0) {
      await deps.report(device, { rolloutId, releaseId: rollout.releaseId, state: 'failed', at: deps.now().toISOString().replace(/\.\d{3}Z$/, 'Z'), error: { code: 'mender_failure', message } });
    }
    noContent(res);
  };

  /**
   * Every Mender answer ends here: the request id and nosniff on every answer as on the device
   * edge, failures mapped by the one error mapping (http/error-handler.ts failureOf), after the
   * refused-credential limiter; a client that went away is counted as an abort.
   */
  const serve = (req: IncomingMessage, res: ServerResponse, route: string, handle: () => Promise<void>): true => {
    const started = process.hrtime.bigint();
    const ip = req.socket?.remoteAddress ?? 'unknown';
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let aborted = false;
    handle()
      .catch((e: unknown) => {
        const err = failureOf(e, req, { logger: deps.logger, requestId, route, databaseAway: (x) => observer.databaseAway(x) });
        if (err === undefined || res.headersSent) {
          aborted = err === undefined;
          return void res.destroy();
        }
        // Unread body bytes must not be parsed as the next request (unless being discarded after a 413).
        if (!req.complete && !isDiscarding(req)) res.setHeader('Connection', 'close');
        writeError(res, observer.refused(ip, err), requestId);
      })
      .finally(() => {
        const f = { method: req.method ?? 'POST', path: (req.url ?? '').split('?')[0] as string, route, ip, started, requestId };
        if (aborted) observer.aborted(f);
        else observer.finish({ ...f, status: res.statusCode });
      });
    return true;
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith(BASE)) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method;
    if (path === NEXT_V2 && method === 'POST') {
      return serve(req, res, NEXT_V2, async () => next(req, res, parseProvides(await readJsonBody(req, deps.maxJsonBytes))));
    }
    if (path === NEXT_V1 && method === 'GET') {
      return serve(req, res, NEXT_V1, async () => {
        const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
        const one = (k: string): string | undefined => {
          const all = params.getAll(k);
          if (all.length > 1 || (all[0] !== undefined && all[0].length > 1024)) throw new AppError('bad_request', `${k} must be given at most once`);
          return all[0];
        };
        await next(req, res, { deviceType: one('device_type'), artifactName: one('artifact_name') });
      });
    }
    if (path === AUTH && method === 'POST') return serve(req, res, AUTH, () => authRequest(req, res));
    if (path === INVENTORY && (method === 'PUT' || method === 'PATCH')) return serve(req, res, INVENTORY, () => inventory(req, res));
    const m = DEPLOYMENT_RE.exec(path);
    if (m && method === 'PUT') {
      const route = `/api/devices/v1/deployments/device/deployments/:id/${m[2] as string}`;
      return serve(req, res, route, async () => (m[2] === 'status' ? status(req, res, deploymentId(m[1] as string)) : log(req, res, deploymentId(m[1] as string))));
    }
    return false;
  };
}
