import { Router } from 'express';
import { READERS, requireRole } from '../auth/authorize.js';
import type { AuditStore } from './audit-store.js';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';

const SUBJECT_MAX = 256;

/**
 * GET /v1/audit?cursor=&limit=&order=&subject=: the append-only log (protocol §7).
 * Oldest first by default, the cursor being the last seq seen; `order=desc`
 * pages newest first (the dashboard's view), the cursor then being the
 * oldest seq seen; `subject=` keeps one subject's entries (e.g. why a rollout halted).
 */
export function auditRoutes(deps: { audit: Pick<AuditStore, 'query'> }): Router {
  const router = Router();
  router.get('/v1/audit', requireRole(...READERS), async (req, res) => {
    const page = parsePage(req.query);
    const cursorSeq = page.cursor === undefined ? undefined : /^[0-9]{1,15}$/.test(page.cursor) ? Number(page.cursor) : NaN;
    if (Number.isNaN(cursorSeq)) throw new AppError('bad_request', 'cursor must be the seq of the last entry seen');
    const order = req.query.order === undefined || req.query.order === '' ? 'asc' : req.query.order;
    if (order !== 'asc' && order !== 'desc') throw new AppError('bad_request', 'order must be asc or desc');
    const subject = req.query.subject === undefined || req.query.subject === '' ? undefined : req.query.subject;
    if (subject !== undefined && (typeof subject !== 'string' || subject.length > SUBJECT_MAX)) {
      throw new AppError('bad_request', `subject must be a string of at most ${SUBJECT_MAX} characters`);
    }
    const entries = await deps.audit.query({ order, cursorSeq, limit: page.limit, subject });
    res.json({ entries, nextCursor: entries.length === page.limit ? String(entries[entries.length - 1]?.seq) : null });
  });
  return router;
}
