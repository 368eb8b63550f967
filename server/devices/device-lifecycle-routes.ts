import { Router } from 'express';
import { requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { DEVICE_ID_RE, pathParam } from '../http/params.js';
import { decommissionDevice } from './decommission-service.js';

/** Operators' fleet-lifecycle routes on one device (protocol §7 "Fleet lifecycle"). */
export function deviceLifecycleRoutes(ctx: AppContext): Router {
  const router = Router();
  router.delete('/v1/devices/:deviceId', requireRole('release-manager'), async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    await decommissionDevice(id, actorOf(principalOf(res)), ctx);
    res.status(204).end();
  });
  return router;
}
