import type { NextFunction, Request, Response } from 'express';
import { readJsonBody } from './raw-json-body.js';

/**
 * The Express JSON routes read their bodies exactly as the fast paths do
 * (raw-json-body.ts): application/json in UTF-8 only, no content encodings
 * (415), size-limited (413), valid UTF-8 and valid JSON, an object or an
 * array (400), through the JSON edge guard. One reader, one set of answers.
 */
export function jsonBody(limitBytes: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    readJsonBody(req, limitBytes).then(
      (value) => {
        req.body = value;
        next();
      },
      next,
    );
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
