import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { ArtifactDetails } from '../artifacts/artifact-store.js';
import { sendArtifact } from '../artifacts/artifact-routes.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { EdgeRoute } from '../http/device-edge.js';
import { decodeDeviceId, DEVICE_ID_RE, SHA256_RE } from '../http/params.js';
import type { RequestObserver } from '../http/request-observer.js';
import type { Authorized, DdiGateway, Links } from './ddi-gateway.js';
import { authorizationOf, parseActionId, parseConfigData, parseFeedback } from './ddi-wire.js';

export interface DdiRouteDeps {
  gateway: DdiGateway;
  config: { tenant: string; publicUrl: string | undefined };
  artifacts: Pick<ArtifactStore, 'pathOf'>;
  artifact(sha256: string): Promise<ArtifactDetails | undefined>;
  /** The per-credential request limiter every operator token goes through (gateway tokens too). */
  limiter: RequestHandler;
  jsonBody: RequestHandler;
  observer: RequestObserver;
  logger: Logger;
}

const BASE_RE = /^\/([^/?]+)\/controller\/v1\/([^/?]+)\/?(?:\?.*)?$/;
const ROUTE = '/{tenant}/controller/v1/{controllerId}';
// RFC 9110 Host: a name or an IPv4/IPv6 literal, with an optional port (links are built from it).
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;
const FILENAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** protocol §11: every link is absolute, from OTA_PUBLIC_URL, else from the request's Host. */
function baseOf(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl;
  const host = req.headers.host;
  if (host === undefined || !HOST_RE.test(host)) throw new AppError('bad_request', 'the Host header is missing or not a host name (links are built from it; set OTA_PUBLIC_URL behind a proxy)');
  const tls = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return `${tls ? 'https' : 'http'}://${host}`;
}

function linksOf(req: IncomingMessage, deps: DdiRouteDeps, deviceId: string): Links & { artifact: (sha256: string, filename: string) => string } {
  const controller = `${baseOf(req, deps.config.publicUrl)}/${encodeURIComponent(deps.config.tenant)}/controller/v1/${encodeURIComponent(deviceId)}`;
  return { controller, artifact: (sha256, filename) => `${controller}/softwaremodules/${sha256}/artifacts/${encodeURIComponent(filename)}` };
}

/** protocol §11: one tenant; any other answers 404 (before any credential is looked at). */
function checkTenant(raw: string, tenant: string): void {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = '';
  }
  if (name !== tenant) throw new AppError('not_found', 'no such tenant');
}

/**
 * GET /{tenant}/controller/v1/{controllerId}, the base poll every DDI
 * client makes on a schedule, on the device edge beside the native poll
 * (http/device-edge.ts): the same headers, error bodies, observer and
 * refused-credential limit. A controller that polled before with its
 * TargetToken is answered in this turn from memory, without a promise.
 */
export function ddiPollRoute(deps: DdiRouteDeps): EdgeRoute<RegExpExecArray, { a: Authorized; links: ReturnType<typeof linksOf> }, string> {
  /** A gateway token is an operator's credential: it spends that token's request budget like any other. */
  const limit = (req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> =>
    new Promise((resolve, reject) => {
      (res as ServerResponse & { locals: { principal: Principal } }).locals = { principal };
      void deps.limiter(req as Request, res as Response, (err?: unknown) => (err ? reject(err) : resolve()));
    });
  return {
    route: ROUTE,
    methods: ['GET', 'HEAD'],
    match: (url) => BASE_RE.exec(url) ?? undefined,
    auth(req, m, res) {
      checkTenant(m[1] as string, deps.config.tenant);
      const auth = authorizationOf(req.headers.authorization);
      const deviceId = decodeDeviceId(m[2] as string);
      const links = (a: Authorized) => ({ a, links: linksOf(req, deps, a.device.id) });
      const withLimit = (a: Authorized) => (a.by ? limit(req, res, a.by).then(() => links(a)) : links(a));
      // hawkBit registers an unknown controller on its first base poll: a GET. A HEAD only asks
      // what a GET would answer (RFC 9110 §9.3.2): it creates no device and no audit entry.
      const authorized = deps.gateway.authorize(deviceId, auth, { enrollUnknown: req.method === 'GET' });
      return authorized instanceof Promise ? authorized.then(withLimit) : withLimit(authorized);
    },
    body: 'none',
    core: ({ a, links }) => deps.gateway.poll(a.device, links),
    send: (body, req) => ({
      status: 200,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'private, no-cache' },
      body: req.method === 'HEAD' ? undefined : body,
    }),
  };
}

const PREFIX = '/:tenant/controller/v1/:controllerId';

/** Every other DDI route (protocol §11), on Express ahead of the bearer-token authentication. */
export function ddiRoutes(deps: DdiRouteDeps): Router {
  const router = Router();
  const { gateway } = deps;

  const tenant = (req: Request, _res: Response, next: NextFunction): void => {
    checkTenant(String(req.params.tenant), deps.config.tenant);
    next();
  };
  /** Authenticates (TargetToken or GatewayToken), limits a gateway token like any operator token, and keeps the device. */
  const authorized = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const auth = authorizationOf(req.headers.authorization);
    const id = String(req.params.controllerId);
    if (!DEVICE_ID_RE.test(id)) throw new AppError('bad_request', 'controllerId is not a valid device id');
    const a = await gateway.authorize(id, auth, { enrollUnknown: false });
    res.locals.principal = a.by ?? { kind: 'device', deviceId: a.device.id };
    res.locals.ddiDevice = a.device;
    if (a.by) deps.limiter(req, res, next);
    else next();
  };
  const deviceOf = (res: Response): Authorized['device'] => res.locals.ddiDevice as Authorized['device'];
  const actionIdOf = (req: Request): number => parseActionId(String(req.params.actionId));
  const ok = (res: Response): void => void res.status(200).end();

  router.get(`${PREFIX}/deploymentBase/:actionId`, tenant, authorized, async (req, res) => {
    res.setHeader('Cache-Control', 'private, no-cache');
    res.json(await gateway.deploymentBase(deviceOf(res), actionIdOf(req), linksOf(req, deps, deviceOf(res).id)));
  });
  router.post(`${PREFIX}/deploymentBase/:actionId/feedback`, tenant, authorized, deps.jsonBody, async (req, res) => {
    const id = actionIdOf(req);
    await gateway.feedback(deviceOf(res), id, parseFeedback(req.body));
    ok(res);
  });
  router.get(`${PREFIX}/cancelAction/:actionId`, tenant, authorized, async (req, res) => {
    res.setHeader('Cache-Control', 'private, no-cache');
    res.json(await gateway.cancelAction(deviceOf(res), actionIdOf(req)));
  });
  router.post(`${PREFIX}/cancelAction/:actionId/feedback`, tenant, authorized, deps.jsonBody, async (req, res) => {
    const id = actionIdOf(req);
    await gateway.cancelFeedback(deviceOf(res), id, parseFeedback(req.body));
    ok(res);
  });
  router.put(`${PREFIX}/configData`, tenant, authorized, deps.jsonBody, async (req, res) => {
    await gateway.configData(deviceOf(res), parseConfigData(req.body));
    ok(res);
  });
  // protocol §11: content-addressed like /v1/artifacts/{sha256} — no token needed, one accepted (and not checked).
  router.get(`${PREFIX}/softwaremodules/:moduleId/artifacts/:filename`, tenant, async (req, res, next) => {
    if (!DEVICE_ID_RE.test(String(req.params.controllerId))) throw new AppError('bad_request', 'controllerId is not a valid device id');
    const sha = String(req.params.moduleId);
    const filename = String(req.params.filename);
    if (!SHA256_RE.test(sha)) throw new AppError('not_found', 'no such software module');
    if (!FILENAME_RE.test(filename)) throw new AppError('bad_request', 'the artifact file name is not valid');
    const artifact = await deps.artifact(sha);
    if (!artifact) throw new AppError('not_found', 'no such artifact');
    if (filename.endsWith('.MD5SUM')) {
      // hawkBit's format: "<md5>  <file name>\n".
      const text = `${artifact.md5}  ${filename.slice(0, -'.MD5SUM'.length)}\n`;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.status(200).send(text);
      return;
    }
    sendArtifact(deps.artifacts, artifact, req, res, next);
  });
  return router;
}
