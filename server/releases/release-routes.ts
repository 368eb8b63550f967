import { Router } from 'express';
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import type { RequestHandler } from 'express';
import type { ReleaseEnvelope } from './release-manifest.js';
import type { PublishOutcome } from './publish-service.js';
import { parseRelease } from './release-manifest.js';
import { envelopeOf, type ReleaseStore, type StoredRelease } from './release-store.js';

const view = (r: StoredRelease) => ({
  id: r.id,
  manifestSha256: r.manifestSha256,
  issuedAt: r.issuedAt,
  publishedAt: r.publishedAt,
  publishedBy: r.publishedBy,
  release: envelopeOf(r),
});

export interface ReleaseRoutesDeps {
  releases: Pick<ReleaseStore, 'get' | 'page'>;
  /** publish-service.ts `publishRelease`, bound to its stores by the composition root. */
  publish(envelope: ReleaseEnvelope, actor: string): Promise<PublishOutcome>;
  jsonBody: RequestHandler;
}

export function releaseRoutes(deps: ReleaseRoutesDeps): Router {
  const router = Router();

  router.post('/v1/releases', requireRole('release-manager'), deps.jsonBody, async (req, res) => {
    const envelope = parseRelease(req.body);
    const outcome = await deps.publish(envelope, actorOf(principalOf(res)));
    res.status(outcome.created ? 201 : 200).json(view(outcome.release));
  });

  router.get('/v1/releases', requireRole(...READERS), async (req, res) => {
    // Full envelopes are up to the JSON body limit each: pages stay small.
    const page = parsePage(req.query, 100);
    const rows = await deps.releases.page(page.cursor ?? '', page.limit);
    const last = rows.length === page.limit ? rows[rows.length - 1] : undefined;
    res.json({ releases: rows.map(view), nextCursor: last?.id ?? null });
  });

  router.get('/v1/releases/:id', requireRole(...READERS), async (req, res) => {
    const id = pathParam(req, 'id', SLUG_RE, 'release id');
    const found = await deps.releases.get(id);
    if (!found) throw new AppError('not_found', `no release ${id}`);
    res.json(view(found));
  });

  return router;
}
