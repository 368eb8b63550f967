import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { DatabaseOutage } from '../db/outage.js';
import { requestIdOf } from './request-id.js';

interface Window {
  start: number;
  failures: number;
}

export interface Finished {
  method: string;
  path: string;
  route: string;
  status: number;
  ip: string;
  started: bigint;
  /** The id echoed in `X-Request-Id` (Express requests; fast paths give it where a line carries it) and the authenticated principal. */
  requestId?: string;
  principal?: Principal;
  /** False: a 401/403 that is no guessed credential (AppError.lockout), not counted by the limit. */
  lockout?: false;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Refusals that are a device's normal traffic, not a problem worth an info
 * line: a device asks for root N+1 on every check (protocol §2 rotation), and
 * a 404 there only means "no newer root yet".
 */
const isRoutineMiss = (f: Finished): boolean => f.status === 404 && f.route === '/v1/trust/root/:version';

/**
 * An operator's change of server state: who (token id, name and role — never
 * the secret), what (method, route and the path with its ids) and the request
 * id, at info, whatever the route. Enrollment and gateway tokens are fleet
 * traffic (one line per device would drown the log), so their requests stay at debug.
 */
const operatorAction = (f: Finished) =>
  f.principal?.kind === 'operator' && f.principal.role !== 'enroller' && f.principal.role !== 'gateway' && MUTATING.has(f.method) && f.status < 400
    ? {
        requestId: f.requestId,
        actor: { tokenId: f.principal.tokenId, name: f.principal.name, role: f.principal.role },
        action: `${f.method} ${f.route}`,
        path: f.path,
        status: f.status,
      }
    : undefined;

export type RequestObserver = ReturnType<typeof createRequestObserver>;

/**
 * The bookkeeping of every request, shared by Express and the poll fast
 * path: latency histogram and counters, the access log line (info for an
 * operator's change of state and for client errors but a device's routine
 * root check; debug for other successes, so a fleet's polls are not logged
 * one by one; error for 5xx but 503 — docs/operations.md), and the count of refused
 * credentials per client address that turns further refusals into 429. Only
 * the method, path and token id are logged: secrets never reach a log line.
 */
export function createRequestObserver(opts: { logger: Logger; metrics: Metrics; authFailuresPerMinute: number; now?: () => number; outage?: Pick<DatabaseOutage, 'failed'> }) {
  const { logger, metrics } = opts;
  const now = opts.now ?? Date.now;
  const failures = new Map<string, Window>();
  const debug = logger.isLevelEnabled('debug');
  const byRoute = new Map<string, { observe: (s: number) => void }>();

  // Windows over a minute old are swept when a refusal is counted, at most once a minute: no timer,
  // so a stopped server's observer (and the metrics and outage it holds) can be collected.
  let swept = now();
  const sweep = (t: number): void => {
    if (t - swept < 60_000) return;
    swept = t;
    for (const [ip, w] of failures) if (t - w.start >= 60_000) failures.delete(ip);
  };

  return {
    /**
     * A refused credential from an address that has presented too many this
     * minute becomes 429 instead. Valid credentials and public routes are
     * never blocked: behind a NAT one guessing client must not lock out a
     * fleet (and a 256-bit token is not guessed anyway; this limits noise).
     */
    refused(ip: string, err: AppError): AppError {
      if ((err.status !== 401 && err.status !== 403) || !err.lockout) return err;
      const w = failures.get(ip);
      if (!w || w.failures < opts.authFailuresPerMinute || now() - w.start >= 60_000) return err;
      return new AppError('rate_limited', 'too many refused credentials from this address; slow down', {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil((w.start + 60_000 - now()) / 1000))) },
      });
    },
    /**
     * A request failed on a database error: when the database is away it is counted in the one
     * outage line (db/outage.ts) and true is returned; otherwise the caller logs it itself.
     */
    databaseAway(err: unknown): boolean {
      return opts.outage?.failed(err, 'request') ?? false;
    },
    /** A request whose client went away before the answer: debug, and its own counter (never a 5xx). */
    aborted(f: Omit<Finished, 'status'>): void {
      metrics.clientAborts.inc({ route: f.route });
      if (debug) logger.debug({ method: f.method, path: f.path, requestId: f.requestId }, 'client closed the connection');
    },
    finish(f: Finished): void {
      const seconds = Number(process.hrtime.bigint() - f.started) / 1e9;
      let histogram = byRoute.get(f.route);
      if (!histogram) byRoute.set(f.route, (histogram = metrics.httpDuration.labels(f.route)));
      histogram.observe(seconds);
      metrics.httpRequests.inc({ route: f.route, status: `${Math.floor(f.status / 100)}xx` });
      if ((f.status === 401 || f.status === 403) && f.lockout !== false) {
        const t = now();
        sweep(t);
        const cur = failures.get(f.ip);
        if (!cur || t - cur.start >= 60_000) failures.set(f.ip, { start: t, failures: 1 });
        else cur.failures++;
      }
      const action = operatorAction(f);
      if (action) return void logger.info({ ...action, ms: seconds * 1000 }, 'operator action');
      const actor = f.principal?.kind === 'operator' ? { tokenId: f.principal.tokenId, role: f.principal.role } : undefined;
      const line = { requestId: f.requestId, actor, method: f.method, path: f.path, status: f.status, ms: seconds * 1000 };
      // 503 is "try again" (the database away, the dashboard not built): its cause is logged once where it
      // arises (db/outage.ts), not once per request; every other 5xx is a bug, at error.
      if (f.status === 503) {
        if (debug) logger.debug(line, 'request answered 503');
      } else if (f.status >= 500) logger.error(line, 'request failed');
      else if (f.status >= 400 && !isRoutineMiss(f)) logger.info(line, 'request refused');
      else if (debug) logger.debug(line, f.status >= 400 ? 'request refused' : 'request');
    },
  };
}

/**
 * The Express side: the request id (request-id.ts: the caller's X-Request-Id
 * if plain, else a new one), echoed in the response and kept in
 * `res.locals.requestId` for every log line of the request, and one 'close'
 * listener per request (it fires for answered and abandoned requests alike).
 */
export function observeRequests(observer: RequestObserver) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const ip = req.socket?.remoteAddress ?? 'unknown';
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(req);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.once('close', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const principal = res.locals.principal as Principal | undefined;
      const f = { method: req.method, path: req.path, route, ip, started, requestId, principal };
      if (!res.writableFinished) observer.aborted(f);
      else observer.finish({ ...f, status: res.statusCode });
    });
    next();
  };
}
