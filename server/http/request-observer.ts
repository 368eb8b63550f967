import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';

interface Window {
  start: number;
  failures: number;
}

/**
 * One 'finish' listener per request does all the bookkeeping of the hot
 * path: latency histogram and counters, the access log line (debug for
 * successes, so a fleet's polls are not logged one by one; info for client
 * errors; error for 5xx), and the count of refused credentials per client
 * address that blocks token guessing with 429. Only the method and path
 * are logged: tokens never reach a log line.
 */
export function observeRequests(opts: { logger: Logger; metrics: Metrics; authFailuresPerMinute: number; now?: () => number }) {
  const { logger, metrics } = opts;
  const now = opts.now ?? Date.now;
  const failures = new Map<string, Window>();
  const debug = logger.isLevelEnabled('debug');

  const sweep = setInterval(() => {
    const cutoff = now() - 60_000;
    for (const [ip, w] of failures) if (w.start < cutoff) failures.delete(ip);
  }, 60_000).unref();
  void sweep;

  return (req: Request, res: Response, next: NextFunction): void => {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const w = failures.get(ip);
    if (w && w.failures >= opts.authFailuresPerMinute && now() - w.start < 60_000) {
      throw new AppError('rate_limited', 'too many refused credentials from this address; slow down', {
        headers: { 'Retry-After': String(Math.ceil((w.start + 60_000 - now()) / 1000)) },
      });
    }
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const status = res.statusCode;
      metrics.httpDuration.observe({ route }, seconds);
      metrics.httpRequests.inc({ route, status: `${Math.floor(status / 100)}xx` });
      if (status === 401 || status === 403) {
        const t = now();
        const cur = failures.get(ip);
        if (!cur || t - cur.start >= 60_000) failures.set(ip, { start: t, failures: 1 });
        else cur.failures++;
      }
      if (status >= 500) logger.error({ method: req.method, path: req.path, status, ms: seconds * 1000 }, 'request failed');
      else if (status >= 400) logger.info({ method: req.method, path: req.path, status, ms: seconds * 1000 }, 'request refused');
      else if (debug) logger.debug({ method: req.method, path: req.path, status, ms: seconds * 1000 }, 'request');
    });
    next();
  };
}
