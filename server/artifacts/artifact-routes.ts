import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import pruneSchema from '../../manifests/schema/api/artifact-prune.schema.json' with { type: 'json' };
import { optionalJsonBody } from '../http/json-body.js';
import { compileValidator } from '../schema/validator.js';
import type { PruneResult } from './prune-service.js';
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SHA256_RE } from '../http/params.js';
import type { AuditStore } from '../audit/audit-store.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { ARTIFACT_NAME_RE, type ArtifactStore, type StoredArtifact } from './artifact-store.js';
import { clampSuffixRanges } from './range-header.js';

/** protocol §7 says "raw bytes": any Content-Type is taken as such (curl --data-binary sends a form type). */
function checkUploadHeaders(req: Request, maxBytes: number): void {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > maxBytes) {
    throw new AppError('payload_too_large', `artifacts are limited to ${maxBytes} bytes`);
  }
}

/** protocol §11: `PUT /v1/artifacts?name=<file name>` names the file DDI clients are given. */
function uploadName(req: Request): string | undefined {
  const raw = req.query.name;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !ARTIFACT_NAME_RE.test(raw)) {
    throw new AppError('bad_request', 'name must be one plain file name: letters, digits, ".", "_", "+" or "-", at most 128 characters');
  }
  return raw;
}

/** Upload (release-manager) and the listing (readers) are authenticated; download is public because artifacts are content-addressed and only installed against a signed manifest. */
const parsePrune = compileValidator<{ dryRun?: boolean; minAgeSeconds?: number }>(pruneSchema, 'prune body');

export interface ArtifactRoutesDeps {
  artifacts: Pick<ArtifactStore, 'put' | 'page' | 'get' | 'pathOf'>;
  audit: Pick<AuditStore, 'append'>;
  config: { maxArtifactBytes: number };
  now: () => Date;
  jsonBody: RequestHandler;
  /** protocol §12: reads a `.mender` artifact's header at upload (checked at publish). */
  menderHeaders: { inspect(sha256: string, path: string): Promise<{ artifactName: string; deviceTypes: readonly string[] } | undefined> };
  /** Artifacts no published release references, listed or removed (prune-service.ts, bound to its stores). */
  pruneArtifacts(opts: { dryRun: boolean; minAgeSeconds: number }, actor: string): Promise<PruneResult>;
}

export function artifactUploadRoutes(deps: ArtifactRoutesDeps): Router {
  const router = Router();
  router.put('/v1/artifacts', requireRole('release-manager'), async (req, res) => {
    checkUploadHeaders(req, deps.config.maxArtifactBytes);
    const name = uploadName(req);
    const actor = actorOf(principalOf(res));
    const at = toTimestamp(deps.now());
    const stored = await deps.artifacts.put(req, deps.config.maxArtifactBytes, actor, at, name);
    if (stored.created) {
      await deps.audit.append({ actor, action: 'artifact.upload', subject: stored.sha256, details: { size: stored.size, ...(name === undefined ? {} : { name }) } }, at);
    }
    // protocol §12: a `.mender` artifact's header is read once, here, and checked at publish.
    const mender = await deps.menderHeaders.inspect(stored.sha256, deps.artifacts.pathOf(stored.sha256));
    res.status(201).json({ sha256: stored.sha256, size: stored.size, ...(mender ? { mender: { artifactName: mender.artifactName, deviceTypes: mender.deviceTypes } } : {}) });
  });
  // What was uploaded, by whom and when (issue 9: ota artifact list); the bytes stay behind the public download route.
  router.get('/v1/artifacts', requireRole(...READERS), async (req, res) => {
    const page = parsePage(req.query);
    if (page.cursor !== undefined && !SHA256_RE.test(page.cursor)) throw new AppError('bad_request', 'cursor must be the sha256 of the last artifact seen');
    const rows = await deps.artifacts.page(page.cursor ?? '', page.limit);
    res.json({ artifacts: rows, nextCursor: rows.length === page.limit ? (rows[rows.length - 1]?.sha256 ?? null) : null });
  });
  // Artifacts no published release references: listed (dryRun) or removed (docs/protocol-notes.md: release managers upload, so they may prune).
  router.post('/v1/artifacts/prune', requireRole('release-manager'), optionalJsonBody(deps.jsonBody), async (req, res) => {
    const body = parsePrune(req.body ?? {});
    res.json(await deps.pruneArtifacts({ dryRun: body.dryRun ?? false, minAgeSeconds: body.minAgeSeconds ?? 86_400 }, actorOf(principalOf(res))));
  });
  return router;
}

export function artifactDownloadRoutes(deps: Pick<ArtifactRoutesDeps, 'artifacts'>): Router {
  const router = Router();
  router.get('/v1/artifacts/:sha256', async (req, res, next) => {
    const sha = pathParam(req, 'sha256', SHA256_RE, 'artifact sha256');
    const stored = await deps.artifacts.get(sha);
    if (!stored) throw new AppError('not_found', 'no such artifact');
    sendArtifact(deps.artifacts, stored, req, res, next);
  });
  return router;
}

/**
 * The bytes of a stored artifact (GET and HEAD), with `Range` (protocol §7) and immutable
 * caching; shared by the native route and the DDI gateway's artifact links (§11).
 */
export function sendArtifact(artifacts: Pick<ArtifactStore, 'pathOf'>, stored: StoredArtifact, req: Request, res: Response, next: NextFunction): void {
  const sha = stored.sha256;
  // Strong ETag = the content hash; `send` honours it for If-None-Match and If-Range.
  res.setHeader('ETag', `"${sha}"`);
  if (req.headers.range !== undefined) req.headers.range = clampSuffixRanges(req.headers.range, stored.size);
  res.sendFile(artifacts.pathOf(sha), {
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
}
