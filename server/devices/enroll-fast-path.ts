import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Principal } from '../auth/principal.js';
import { bearerToken } from '../auth/tokens.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { readJsonBody } from '../http/raw-json-body.js';
import { serveBodyRoute } from '../http/body-fast-path.js';
import type { RequestObserver } from '../http/request-observer.js';
import { deviceTokenResolver } from './device-auth.js';
import { checkVersion, parseEnrollment } from './device-routes.js';
import { deviceTokenHash } from './device-token.js';
import { enroll } from './enrollment-service.js';

const ENROLL_RE = /^\/v1\/devices(?:\?.*)?$/;
const ROUTE = '/v1/devices';

/**
 * POST /v1/devices straight from node:http, like the poll and reports
 * (poll-fast-path.ts): a factory line enrolls devices in bursts, and the
 * Express chain (router, body parser, response helpers) was most of an
 * enrollment's CPU beyond the commit (docs/benchmarks.md). The steps and
 * their order are those of the Express route: authenticate (401), the same
 * per-credential rate limiter instance (429), the enroller role (403), the
 * JSON body rules (415/413/400), the schema, then the group-committed
 * enrollment; 201 only after the commit. Other spellings of the path
 * (trailing slash, other case) still go to the Express route.
 */
export function enrollFastPath(ctx: AppContext, observer: RequestObserver, limiter: RequestHandler) {
  const resolveDevice = deviceTokenResolver(ctx.devices);
  const limit = (req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> =>
    new Promise((resolve, reject) => {
      // express-rate-limit keys on res.locals.principal, as the Express chain sets it.
      (res as ServerResponse & { locals: { principal: Principal } }).locals = { principal };
      void limiter(req as Parameters<RequestHandler>[0], res as Parameters<RequestHandler>[1], (err?: unknown) => (err ? reject(err) : resolve()));
    });

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    if (!ENROLL_RE.test(req.url ?? '')) return false;
    serveBodyRoute(req, res, { observer, logger: ctx.logger, route: ROUTE, what: 'enrollment' }, async (): Promise<void> => {
      const token = bearerToken(req.headers.authorization);
      const by = token === undefined ? undefined : ((await ctx.operatorTokens.authenticate(token)) ?? (await resolveDevice(token)));
      if (!by) throw new AppError('unauthorized', token === undefined ? 'a bearer token is required' : 'the token is not valid');
      // Last used, as on every operator request (auth/token-usage.ts: noted in memory, written behind).
      if (by.kind === 'operator') ctx.tokenUsage.touch(by.tokenId);
      await limit(req, res, by);
      if (by.kind === 'operator' && by.role !== 'enroller' && by.role !== 'admin') throw new AppError('forbidden', 'enrollment needs an enroller token');
      const body = parseEnrollment(await readJsonBody(req, ctx.config.maxJsonBytes));
      checkVersion(body.version, '/version');
      const presented = by.kind === 'device' ? deviceTokenHash(token as string) : undefined;
      const { deviceToken, reenrolled } = await enroll(body, by, ctx, presented);
      const answer = JSON.stringify({ deviceToken, deviceId: body.deviceId, reenrolled });
      // The answer carries a secret: never cached.
      res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer), 'Cache-Control': 'no-store' });
      res.end(answer);
    });
    return true;
  };
}
