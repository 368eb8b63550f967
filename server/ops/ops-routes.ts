import { Router } from 'express';
import { requireRole, READERS } from '../auth/authorize.js';
import type { AppContext } from '../context.js';

/** /healthz is public (load balancers); /metrics needs an operator token. */
export function healthRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    let db = 'ok';
    try {
      await ctx.sql.value('SELECT 1');
    } catch {
      db = 'error';
    }
    const { root, policy } = ctx.trust.current();
    res.status(db === 'ok' ? 200 : 503).json({ status: db === 'ok' ? 'ok' : 'degraded', db, rootVersion: root.version, policyVersion: policy.signed.version });
  });
  return router;
}

export function metricsRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/metrics', requireRole(...READERS), async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return router;
}
