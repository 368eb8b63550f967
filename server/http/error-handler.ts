import type { ServerResponse } from 'node:http';
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
 * The one place errors become HTTP (protocol §7 error body). Unknown errors
 * are logged with their stack and answered 500 with no detail: never a stack
 * trace to a client.
 */
export function errorHandler(logger: Logger, observer?: Pick<RequestObserver, 'refused' | 'databaseAway'>) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (!isAppError(err) && isClientAbort(err, req)) {
      // Nobody is listening for an answer; the 'close' observer counts it as an abort.
      res.destroy();
      return;
    }
    let appErr = isAppError(err) ? err : (fromFrameworkError(err as HttpishError & Error) ?? databaseAppError(err));
    if (appErr?.code === 'unavailable' && !isAppError(err) && !observer?.databaseAway(err)) logger.warn({ err, requestId: requestIdOf(req) }, 'database unavailable');
    if (!appErr) {
      logger.error({ err, method: req.method, path: req.path, requestId: requestIdOf(req) }, 'unhandled error');
      appErr = new AppError('internal', 'internal error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    writeError(res, observer ? observer.refused(req.socket?.remoteAddress ?? 'unknown', appErr) : appErr);
  };
}

export function notFound(req: Request): never {
  throw new AppError('not_found', `no route for ${req.method} ${req.path}`);
}

/** Writes the protocol §7 error body; also used by paths that bypass Express. */
export function writeError(res: ServerResponse, err: AppError): void {
  const body = JSON.stringify(err.toBody());
  res.writeHead(err.status, {
    // The id the server's log lines carry, so an operator can find what a client saw.
    'X-Request-Id': requestIdOf(res.req),
    'X-Content-Type-Options': 'nosniff',
    // RFC 9110: every 401 names the scheme it wants.
    ...(err.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
    ...err.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
