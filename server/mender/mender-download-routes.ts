import { Router } from 'express';
import { clampSuffixRanges } from '../artifacts/range-header.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { AppError } from '../errors.js';
import { pathParam, SHA256_RE } from '../http/params.js';
import { LINK_PATH, type LinkSigner } from './artifact-links.js';

/**
 * protocol §12 `source.uri`: the artifact behind a signed, expiring link
 * (the client sends no token on downloads). 403 for an altered or expired
 * link; otherwise the bytes with Content-Length, honouring Range (the
 * client resumes a cut download).
 */
export function menderDownloadRoutes(deps: { links: LinkSigner; artifacts: Pick<ArtifactStore, 'get' | 'pathOf'>; now: () => Date }): Router {
  const router = Router();
  router.get(`${LINK_PATH}/:sha256`, async (req, res, next) => {
    const sha = pathParam(req, 'sha256', SHA256_RE, 'artifact sha256');
    const verdict = deps.links.check(sha, req.query.expires, req.query.signature, Math.floor(deps.now().getTime() / 1000));
    if (verdict !== 'ok') throw new AppError('forbidden', verdict === 'expired' ? 'the artifact link has expired (ask deployments/next again)' : 'the artifact link is not valid');
    const stored = await deps.artifacts.get(sha);
    if (!stored) throw new AppError('not_found', 'no such artifact');
    res.setHeader('ETag', `"${sha}"`);
    if (req.headers.range !== undefined) req.headers.range = clampSuffixRanges(req.headers.range, stored.size);
    // The link expires: no shared cache may keep serving it beyond that.
    res.sendFile(deps.artifacts.pathOf(sha), {
      etag: false,
      lastModified: false,
      acceptRanges: true,
      cacheControl: false,
      headers: { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, no-store' },
    }, (err?: Error & { status?: number; statusCode?: number }) => {
      if (!err) return;
      if (!res.headersSent) for (const h of ['Content-Type', 'Cache-Control', 'ETag']) res.removeHeader(h);
      const status = err.status ?? err.statusCode;
      if (status === 416) next(new AppError('invalid_range', 'the requested range is not satisfiable', { headers: { 'Content-Range': `bytes */${stored.size}` } }));
      else if (!res.headersSent) next(err);
    });
  });
  return router;
}
