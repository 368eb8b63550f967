import { Router } from 'express';
import { READERS, requireRole } from '../auth/authorize.js';
import type { RolloutStore } from './rollout-store.js';
import type { TimelineStore } from './rollout-timeline.js';
import { AppError } from '../errors.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { toTimestamp } from '../protocol/trust/time.js';

const DEFAULT_INTERVALS = 1440;
const MAX_INTERVALS = 10080;

/**
 * GET /v1/rollouts/{id}/timeline?limit=: the auto-halt figures (protocol §5)
 * over time, for the dashboard's failure-rate chart (protocol §10), in
 * intervals fitted to the rollout's span (seconds for a young rollout, hours
 * for an old one: issue 18). Each point carries the running totals, so a
 * client plots rate = failures / terminal against the threshold without
 * summing anything itself.
 */
export function timelineRoutes(deps: { rollouts: Pick<RolloutStore, 'get'>; timeline: Pick<TimelineStore, 'intervals'> }): Router {
  const router = Router();
  router.get('/v1/rollouts/:id/timeline', requireRole(...READERS), async (req, res) => {
    const id = pathParam(req, 'id', SLUG_RE, 'rollout id');
    const r = await deps.rollouts.get(id);
    if (!r) throw new AppError('not_found', `no rollout ${id}`);
    const raw = req.query.limit;
    const limit = raw === undefined || raw === '' ? DEFAULT_INTERVALS : typeof raw === 'string' && /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= MAX_INTERVALS)) throw new AppError('bad_request', `limit must be an integer from 1 to ${MAX_INTERVALS}`);
    const { intervalSeconds, intervals } = await deps.timeline.intervals(id);
    let terminal = 0;
    let failures = 0;
    const points = intervals.map((i) => {
      terminal += i.terminal;
      failures += i.failures;
      return {
        at: toTimestamp(new Date(i.start)),
        terminalDelta: i.terminal,
        failuresDelta: i.failures,
        terminal,
        failures,
        rateBasisPoints: terminal > 0 ? Math.floor((failures * 10000) / terminal) : 0,
      };
    });
    res.json({
      rolloutId: id,
      intervalSeconds,
      maxFailureBasisPoints: r.failurePolicy.maxFailureBasisPoints,
      minTerminalReports: r.failurePolicy.minTerminalReports,
      // The latest `limit` intervals; their running totals still count everything before them.
      points: points.slice(-limit),
    });
  });
  return router;
}
