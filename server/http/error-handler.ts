import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { databaseAppError } from '../db/database-errors.js';
import { AppError, isAppError } from '../errors.js';
import { isClientAbort } from './client-abort.js';
import { requestIdOf } from './request-id.js';
import type { RequestObserver } from './request-observer.js';

interface HttpishError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** body-parser and friends throw errors with a `type`; map the ones a client can cause. */
function fromFrameworkError(err: HttpishError & Error): AppError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', 'the request body is larger than this endpoint accepts');
    case 'entity.parse.failed':
      return new AppError('invalid_json', 'the request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'unsupported body encoding or charset');
    case 'request.aborted':
      return new AppError('bad_request', 'the request was aborted');
    case 'request.size.invalid':
      return new AppError('bad_request', 'the request body size does not match Content-Length');
  }
  const status = err.status ?? err.statusCode;
  if (status && status >= 400 && status < 500) {
    // A client-caused framework error (e.g. the router's 400 for a path parameter that does not
    // percent-decode, which is not marked `expose`): 400, never a 500; its text only when exposable.
    return new AppError('bad_request', err.expose ? err.message : 'the request is not valid');
  }
  return undefined;
}

/**
 * The one mapping from anything a request threw to its answer (protocol §7
 * error body), shared by Express's error handler and the device edge
 * (device-edge.ts). Returns undefined when the client went away (nothing is
 * answered; the caller counts an abort). Unknown errors are logged with their
 * stack and become a 500 with no detail: never a stack trace to a client.
 */
export function failureOf(
  err: unknown,
  req: IncomingMessage,
  log: { logger: Logger; requestId: string; route?: string; databaseAway?: (err: unknown) => boolean },
): AppError | undefined {
  if (isAppError(err)) return err;
  if (isClientAbort(err, req)) return undefined;
  const framework = fromFrameworkError(err as HttpishError & Error);
  if (framework) return framework;
  const database = databaseAppError(err);
  if (database) {
    // An outage is logged once when it starts and once when it ends (db/outage.ts), not per request.
    if (database.code === 'unavailable' && log.databaseAway?.(err)) return database;
    log.logger.warn({ err, requestId: log.requestId, route: log.route }, database.code === 'unavailable' ? 'database unavailable' : 'database refused the request');
    return database;
  }
  log.logger.error({ err, method: req.method, path: (req.url ?? '').split('?')[0], requestId: log.requestId, route: log.route }, 'unhandled error');
  return new AppError('internal', 'internal error');
}

/** Express's side of the one error mapping (failureOf), with the refused-credential limit. */
export function errorHandler(logger: Logger, observer?: Pick<RequestObserver, 'refused' | 'databaseAway'>) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = failureOf(err, req, { logger, requestId: requestIdOf(req), ...(observer ? { databaseAway: (e: unknown) => observer.databaseAway(e) } : {}) });
    // No answer for a client that went away (the 'close' observer counts the abort), nor after headers.
    if (appErr === undefined || res.headersSent) {
      res.destroy();
      return;
    }
    writeError(res, observer ? observer.refused(req.socket?.remoteAddress ?? 'unknown', appErr) : appErr);
  };
}

export function notFound(req: Request): never {
  throw new AppError('not_found', `no route for ${req.method} ${req.path}`);
}

/** Writes the protocol §7 error body (Express and the device edge). */
export function writeError(res: ServerResponse, err: AppError, requestId: string = requestIdOf(res.req)): void {
  const body = JSON.stringify(err.toBody());
  res.writeHead(err.status, {
    // The id the server's log lines carry, so an operator can find what a client saw.
    'X-Request-Id': requestId,
    'X-Content-Type-Options': 'nosniff',
    // RFC 9110: every 401 names the scheme it wants.
    ...(err.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
    ...err.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
