import { Router } from 'express';
import { READERS, requireRole } from '../auth/authorize.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';

/** GET /v1/audit?cursor=: the append-only log, oldest first; the cursor is the last seq seen. */
export function auditRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/v1/audit', requireRole(...READERS), (req, res) => {
    const page = parsePage(req.query);
    const after = page.cursor === undefined ? 0 : /^[0-9]{1,15}$/.test(page.cursor) ? Number(page.cursor) : NaN;
    if (Number.isNaN(after)) throw new AppError('bad_request', 'cursor must be the seq of the last entry seen');
    const entries = ctx.audit.page(after, page.limit);
    res.json({ entries, nextCursor: entries.length === page.limit ? String(entries[entries.length - 1]?.seq) : null });
  });
  return router;
}
