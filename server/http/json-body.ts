import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../errors.js';
import { assertSafeJson } from './json-guard.js';

/**
 * JSON bodies only as application/json (415 otherwise), size-limited (413),
 * strict (objects and arrays only), and through the JSON edge guard
 * (json-guard.ts). Parse failures become 400 invalid_json in the error handler.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.is('application/json')) {
      throw new AppError('unsupported_media_type', 'send the body as Content-Type: application/json');
    }
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      try {
        assertSafeJson(req.body);
      } catch (e) {
        return next(e);
      }
      next();
    });
  };
}

/**
 * For bodies that may be left out (e.g. resuming a paused rollout): no
 * body at all (no Content-Length, or 0, and no Transfer-Encoding) reads as
 * `{}`; anything sent goes through `parse` with all its checks.
 */
export function optionalJsonBody(parse: (req: Request, res: Response, next: NextFunction) => void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = req.headers['content-length'];
    if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) {
      req.body = {};
      next();
      return;
    }
    parse(req, res, next);
  };
}
