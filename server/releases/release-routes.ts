import { Router } from 'express';
import withdrawSchema from '../../manifests/schema/api/release-withdraw.schema.json' with { type: 'json' };
import { compileValidator } from '../schema/validator.js';
import type { Withdrawal } from './withdraw-service.js';
import type { WithdrawalEnvelope } from './withdrawal-statement.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import { READERS, requireRole } from '../auth/authorize.js';
import { LIFECYCLE_ROLES } from '../auth/lifecycle-permissions.js';
import { actorOf, principalOf } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import type { RequestHandler } from 'express';
import type { ReleaseEnvelope } from '../protocol/release-manifest.js';
import type { PublishOutcome } from './publish-service.js';
import { parseRelease } from '../protocol/release-manifest.js';
import { envelopeOf, type ReleaseStore, type StoredRelease } from './release-store.js';

const view = (r: StoredRelease) => ({
  id: r.id,
  manifestSha256: r.manifestSha256,
  issuedAt: r.issuedAt,
  publishedAt: r.publishedAt,
  publishedBy: r.publishedBy,
  release: envelopeOf(r),
  // protocol §7: the signed withdrawal statement, null while the release may be offered.
  withdrawal: r.withdrawalJson ? (JSON.parse(r.withdrawalJson) as WithdrawalEnvelope) : null,
});

const parseWithdraw = compileValidator<{ reason: string }>(withdrawSchema, 'withdraw body');

export interface ReleaseRoutesDeps {
  releases: Pick<ReleaseStore, 'get' | 'page'>;
  rollouts: Pick<RolloutStore, 'started'>;
  /** publish-service.ts `publishRelease`, bound to its stores by the composition root. */
  publish(envelope: ReleaseEnvelope, actor: string): Promise<PublishOutcome>;
  /** withdraw-service.ts `withdrawRelease`, bound to its stores by the composition root (protocol §7). */
  withdraw(id: string, reason: string, actor: string): Promise<Withdrawal>;
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

  // protocol §7 fleet lifecycle: 200 whether it was withdrawn now or before (idempotent).
  router.post('/v1/releases/:id/withdraw', requireRole(...LIFECYCLE_ROLES['withdraw-release']), deps.jsonBody, async (req, res) => {
    const id = pathParam(req, 'id', SLUG_RE, 'release id');
    const { reason } = parseWithdraw(req.body);
    const w = await deps.withdraw(id, reason, actorOf(principalOf(res)));
    const rollouts = (await deps.rollouts.started()).filter((r) => r.releaseId === id).map((r) => r.id);
    res.json({ releaseId: w.releaseId, withdrawal: w.withdrawal, logIndex: w.logIndex, alreadyWithdrawn: !w.created, rollouts });
  });

  return router;
}
