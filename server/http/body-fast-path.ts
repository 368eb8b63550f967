import { databaseAppError } from '../db/database-errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors.js';
import { isClientAbort } from './client-abort.js';
import { isDiscarding } from './linger.js';
import { writeError } from './error-handler.js';
import { requestIdOf } from './request-id.js';
import type { RequestObserver } from './request-observer.js';

/**
 * The ending every route served ahead of Express with a request body shares
 * (reports, enrollment): a refusal answers with the §7 body (after the
 * refused-credential limiter), an unexpected failure is logged once with the
 * request id and answered 500, a client that went away is counted as an
 * abort, and the connection closes when body bytes were left unread.
 */
export function serveBodyRoute(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { observer: RequestObserver; logger: Logger; route: string; what: string },
  handle: () => Promise<void>,
): void {
  const started = process.hrtime.bigint();
  const ip = req.socket?.remoteAddress ?? 'unknown';
  let aborted = false;
  handle()
    .catch((e: unknown) => {
      if (!isAppError(e) && isClientAbort(e, req)) {
        aborted = true;
        return void res.destroy();
      }
      const known = isAppError(e) ? e : databaseAppError(e);
      if (!known) deps.logger.error({ err: e, requestId: requestIdOf(req) }, `${deps.what} failed`);
      else if (!isAppError(e) && !deps.observer.databaseAway(e)) deps.logger.warn({ err: e, requestId: requestIdOf(req) }, `${deps.what}: database refused`);
      if (res.headersSent) return void res.destroy();
      // Unread body bytes must not be parsed as the next request on this connection.
      if (!req.complete && !isDiscarding(req)) res.setHeader('Connection', 'close');
      writeError(res, known ? deps.observer.refused(ip, known) : new AppError('internal', 'internal error'));
    })
    .finally(() => {
      const f = { method: req.method ?? 'POST', path: (req.url ?? '').split('?')[0] as string, route: deps.route, ip, started };
      // Ids only where a log line carries one: the hot 2xx path skips them.
      if (aborted) deps.observer.aborted({ ...f, requestId: requestIdOf(req) });
      else deps.observer.finish({ ...f, status: res.statusCode, ...(res.statusCode >= 500 ? { requestId: requestIdOf(req) } : {}) });
    });
}
