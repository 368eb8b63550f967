import { Router, type Request } from 'express';
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SHA256_RE } from '../http/params.js';
import type { AppContext } from '../context.js';
import { toTimestamp } from '../trust/time.js';
import { clampSuffixRanges } from './range-header.js';

/** protocol §7 says "raw bytes": any Content-Type is taken as such (curl --data-binary sends a form type). */
function checkUploadHeaders(req: Request, maxBytes: number): void {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > maxBytes) {
    throw new AppError('payload_too_large', `artifacts are limited to ${maxBytes} bytes`);
  }
}

/** Upload (release-manager) and the listing (readers) are authenticated; download is public because artifacts are content-addressed and only installed against a signed manifest. */
export function artifactUploadRoutes(ctx: AppContext): Router {
  const router = Router();
  router.put('/v1/artifacts', requireRole('release-manager'), async (req, res) => {
    checkUploadHeaders(req, ctx.config.maxArtifactBytes);
    const actor = actorOf(principalOf(res));
    const at = toTimestamp(ctx.now());
    const stored = await ctx.artifacts.put(req, ctx.config.maxArtifactBytes, actor, at);
    if (stored.created) {
      await ctx.audit.append({ actor, action: 'artifact.upload', subject: stored.sha256, details: { size: stored.size } }, at);
    }
    // protocol §12: a `.mender` artifact's header is read once, here, and checked at publish.
    const mender = await ctx.menderHeaders.inspect(stored.sha256, ctx.artifacts.pathOf(stored.sha256));
    res.status(201).json({ sha256: stored.sha256, size: stored.size, ...(mender ? { mender: { artifactName: mender.artifactName, deviceTypes: mender.deviceTypes } } : {}) });
  });
  // What was uploaded, by whom and when (issue 9: ota artifact list); the bytes stay behind the public download route.
  router.get('/v1/artifacts', requireRole(...READERS), async (req, res) => {
    const page = parsePage(req.query);
    if (page.cursor !== undefined && !SHA256_RE.test(page.cursor)) throw new AppError('bad_request', 'cursor must be the sha256 of the last artifact seen');
    const rows = await ctx.artifacts.page(page.cursor ?? '', page.limit);
    res.json({ artifacts: rows, nextCursor: rows.length === page.limit ? (rows[rows.length - 1]?.sha256 ?? null) : null });
  });
  return router;
}

export function artifactDownloadRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/v1/artifacts/:sha256', async (req, res, next) => {
    const sha = pathParam(req, 'sha256', SHA256_RE, 'artifact sha256');
    const stored = await ctx.artifacts.get(sha);
    if (!stored) throw new AppError('not_found', 'no such artifact');
    // Strong ETag = the content hash; `send` honours it for If-None-Match and If-Range.
    res.setHeader('ETag', `"${sha}"`);
    if (req.headers.range !== undefined) req.headers.range = clampSuffixRanges(req.headers.range, stored.size);
    res.sendFile(ctx.artifacts.pathOf(sha), {
      etag: false,
      lastModified: false,
      acceptRanges: true,
      cacheControl: true,
      immutable: true,
      maxAge: 365 * 24 * 3600 * 1000,
      headers: { 'Content-Type': 'application/octet-stream' },
    }, (err?: Error & { status?: number; statusCode?: number }) => {
      if (!err) return;
      // The error body is JSON and must not inherit the file's type, ETag or year-long immutable caching.
      if (!res.headersSent) for (const h of ['Content-Type', 'Cache-Control', 'ETag']) res.removeHeader(h);
      const status = err.status ?? err.statusCode;
      if (status === 416) {
        next(new AppError('invalid_range', 'the requested range is not satisfiable', { headers: { 'Content-Range': `bytes */${stored.size}` } }));
      } else if (!res.headersSent) next(err);
    });
  });
  return router;
}
