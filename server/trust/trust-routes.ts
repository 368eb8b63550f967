import { Router, type Response } from 'express';
import { AppError } from '../errors.js';
import type { AppContext } from '../context.js';

const sendJson = (res: Response, json: string): void => {
  res.type('application/json').setHeader('Cache-Control', 'no-cache');
  res.send(json);
};

/** protocol §7: trust documents are public; devices walk the root chain from their pinned version. */
export function trustRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/v1/trust/root', (_req, res) => {
    const { rootJson } = ctx.trust.current();
    sendJson(res, rootJson[rootJson.length - 1] as string);
  });
  router.get('/v1/trust/root/:version', (req, res) => {
    const { rootJson } = ctx.trust.current();
    const v = /^[1-9][0-9]{0,8}$/.test(req.params.version) ? Number(req.params.version) : NaN;
    const json = rootJson[v - 1];
    if (json === undefined) throw new AppError('not_found', `no root version ${req.params.version.slice(0, 16)}`);
    // Old root versions never change.
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.type('application/json').send(json);
  });
  router.get('/v1/trust/policy', (_req, res) => sendJson(res, ctx.trust.current().policyJson));
  return router;
}
