import { Router } from 'express';
import createSchema from '../../manifests/schema/api/token-create.schema.json' with { type: 'json' };
import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { requireRole } from './authorize.js';
import type { OperatorTokenStore, TokenInfo } from './operator-token-store.js';
import type { TokenService } from './token-service.js';
import type { TokenUsage } from './token-usage.js';
import { actorOf, principalOf, type OperatorRole } from './principal.js';

const parseCreate = compileValidator<{ role: OperatorRole; name: string }>(createSchema, 'token');
const ID_RE = /^[1-9][0-9]{0,14}$/;

/**
 * Operator tokens, admin only (issue 9). The secret is in the 201 of
 * POST and nowhere else; listings never carry a secret or a hash. A
 * revoked token is refused on its next request: authentication reads
 * the store every time (there is no cache to forget it).
 */
export interface TokenRoutesDeps {
  operatorTokens: Pick<OperatorTokenStore, 'page'>;
  tokenService: TokenService;
  tokenUsage: Pick<TokenUsage, 'latest'>;
  jsonBody: RequestHandler;
  now: () => Date;
}

export function tokenRoutes(deps: TokenRoutesDeps): Router {
  const router = Router();
  const admin = requireRole();
  const view = (t: TokenInfo) => ({ ...t, lastUsedAt: deps.tokenUsage.latest(t.id, t.lastUsedAt) });
  const idOf = (raw: unknown): number => {
    if (typeof raw !== 'string' || !ID_RE.test(raw)) throw new AppError('bad_request', 'token id must be a positive integer');
    return Number(raw);
  };

  router.post('/v1/tokens', admin, deps.jsonBody, async (req, res) => {
    const body = parseCreate(req.body);
    const at = toTimestamp(deps.now());
    const actor = actorOf(principalOf(res));
    const created = await deps.tokenService.create(body.role, body.name, actor, at);
    // The only time the secret is shown: never cached.
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json({ id: created.id, role: body.role, name: body.name, createdAt: at, token: created.token });
  });

  router.get('/v1/tokens', admin, async (req, res) => {
    const page = parsePage(req.query);
    const after = page.cursor === undefined ? 0 : idOf(page.cursor);
    const rows = await deps.operatorTokens.page(after, page.limit);
    res.json({ tokens: rows.map(view), nextCursor: rows.length === page.limit ? String(rows[rows.length - 1]?.id) : null });
  });

  router.delete('/v1/tokens/:id', admin, async (req, res) => {
    const id = idOf(req.params.id);
    const at = toTimestamp(deps.now());
    const actor = actorOf(principalOf(res));
    const found = await deps.tokenService.revoke(id, actor, at);
    res.json(view(found));
  });

  return router;
}
