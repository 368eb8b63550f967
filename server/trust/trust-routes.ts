import { Router, type Request, type Response } from 'express';
import { AppError } from '../errors.js';
import type { TrustState } from './trust-state.js';

/** Sends a trust document with its ETag; a matching If-None-Match gets 304 (devices check every cycle). */
const sendJson = (req: Request, res: Response, json: string, etag: string, cacheControl = 'no-cache'): void => {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', cacheControl);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.type('application/json').send(json);
};

/** protocol §7: trust documents are public; devices walk the root chain from their pinned version. */
export function trustRoutes(deps: { trust: Pick<TrustState, 'current'> }): Router {
  const router = Router();
  router.get('/v1/trust/root', (req, res) => {
    const { rootJson, rootEtags } = deps.trust.current();
    sendJson(req, res, rootJson[rootJson.length - 1] as string, rootEtags[rootEtags.length - 1] as string);
  });
  router.get('/v1/trust/root/:version', (req, res) => {
    const { rootJson } = deps.trust.current();
    const v = /^[1-9][0-9]{0,8}$/.test(req.params.version) ? Number(req.params.version) : NaN;
    const json = rootJson[v - 1];
    if (json === undefined) throw new AppError('not_found', `no root version ${req.params.version.slice(0, 16)}`);
    // A root version never changes once published.
    sendJson(req, res, json, deps.trust.current().rootEtags[v - 1] as string, 'public, max-age=31536000, immutable');
  });
  router.get('/v1/trust/policy', (req, res) => {
    const { policyJson, policyEtag } = deps.trust.current();
    sendJson(req, res, policyJson, policyEtag);
  });
  return router;
}
