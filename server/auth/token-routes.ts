import { Router } from 'express';
import createSchema from '../../manifests/schema/api/token-create.schema.json' with { type: 'json' };
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../trust/time.js';
import { requireRole } from './authorize.js';
import type { TokenInfo } from './operator-token-store.js';
import { actorOf, principalOf, type OperatorRole } from './principal.js';

const parseCreate = compileValidator<{ role: OperatorRole; name: string }>(createSchema, 'token');
const ID_RE = /^[1-9][0-9]{0,14}$/;

/**
 * Operator tokens, admin only (issue 9). The secret is in the 201 of
 * POST and nowhere else; listings never carry a secret or a hash. A
 * revoked token is refused on its next request: authentication reads
 * the store every time (there is no cache to forget it).
 */
export function tokenRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = requireRole();
  const view = (t: TokenInfo) => ({ ...t, lastUsedAt: ctx.tokenUsage.latest(t.id, t.lastUsedAt) });
  const idOf = (raw: unknown): number => {
    if (typeof raw !== 'string' || !ID_RE.test(raw)) throw new AppError('bad_request', 'token id must be a positive integer');
    return Number(raw);
  };

  router.post('/v1/tokens', admin, ctx.jsonBody, async (req, res) => {
    const body = parseCreate(req.body);
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    const created = await ctx.sql.transaction(async () => {
      const t = await ctx.operatorTokens.create(body.role, body.name, at);
      await ctx.audit.append({ actor, action: 'token.create', subject: `token:${t.id}`, details: { role: body.role, name: body.name } }, at);
      return t;
    });
    // The only time the secret is shown: never cached.
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json({ id: created.id, role: body.role, name: body.name, createdAt: at, token: created.token });
  });

  router.get('/v1/tokens', admin, async (req, res) => {
    const page = parsePage(req.query);
    const after = page.cursor === undefined ? 0 : idOf(page.cursor);
    const rows = await ctx.operatorTokens.page(after, page.limit);
    res.json({ tokens: rows.map(view), nextCursor: rows.length === page.limit ? String(rows[rows.length - 1]?.id) : null });
  });

  router.delete('/v1/tokens/:id', admin, async (req, res) => {
    const id = idOf(req.params.id);
    const at = toTimestamp(ctx.now());
    const actor = actorOf(principalOf(res));
    const found = await ctx.sql.transaction(async () => {
      const before = await ctx.operatorTokens.get(id);
      if (!before) throw new AppError('not_found', `no token ${id}`);
      // Over HTTP the last admin cannot lock every admin out; `ota token create --data DIR` on the server can always mint one.
      if (before.role === 'admin' && before.revokedAt === null && (await ctx.operatorTokens.activeAdmins()) === 1) {
        throw new AppError('conflict', 'this is the last active admin token: create another admin token before revoking it');
      }
      // DELETE is idempotent: revoking a revoked token changes nothing and is not logged again.
      if (await ctx.operatorTokens.revoke(id, at)) {
        await ctx.audit.append({ actor, action: 'token.revoke', subject: `token:${id}`, details: { role: before.role, name: before.name } }, at);
      }
      return (await ctx.operatorTokens.get(id)) as TokenInfo;
    });
    res.json(view(found));
  });

  return router;
}
