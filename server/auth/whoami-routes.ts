import { Router } from 'express';
import { principalOf } from './principal.js';

/**
 * GET /v1/whoami: who the presented token is, so a client (the dashboard's
 * sign-in, protocol §10) can check a token and show its role without trying
 * actions. Any valid token may ask; it learns nothing it did not hold (an
 * operator token's id is how `ota token revoke` names it; `ota whoami`).
 */
export function whoamiRoutes(): Router {
  const router = Router();
  router.get('/v1/whoami', (_req, res) => {
    const p = principalOf(res);
    res.json(p.kind === 'operator' ? { kind: 'operator', name: p.name, role: p.role, tokenId: p.tokenId } : { kind: 'device', deviceId: p.deviceId });
  });
  return router;
}
