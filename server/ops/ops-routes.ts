import { Router } from 'express';
import { requireRole, READERS } from '../auth/authorize.js';
import type { Metrics } from './metrics.js';
import type { HealthStore } from './health-store.js';
import type { TrustState } from '../trust/trust-state.js';

/** /healthz is public (load balancers); /metrics needs an operator token. */
export function healthRoutes(deps: { databaseHealth: HealthStore; trust: Pick<TrustState, 'current'> }): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const db = (await deps.databaseHealth.databaseAnswers()) ? 'ok' : 'error';
    const { root, policy } = deps.trust.current();
    res.status(db === 'ok' ? 200 : 503).json({ status: db === 'ok' ? 'ok' : 'degraded', db, rootVersion: root.version, policyVersion: policy.signed.version });
  });
  return router;
}

export function metricsRoutes(deps: { metrics: Pick<Metrics, 'contentType' | 'exposition'> }): Router {
  const router = Router();
  router.get('/metrics', requireRole(...READERS), async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.exposition());
  });
  return router;
}
