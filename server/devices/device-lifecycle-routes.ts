import { Router } from 'express';
import cancelUpdateSchema from '../../manifests/schema/api/cancel-update.schema.json' with { type: 'json' };
import { requireRole } from '../auth/authorize.js';
import { LIFECYCLE_ROLES } from '../auth/lifecycle-permissions.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { RequestHandler } from 'express';
import { DEVICE_ID_RE, pathParam } from '../http/params.js';
import type { CancelledUpdate } from '../rollouts/cancel-update-service.js';
import { compileValidator } from '../schema/validator.js';

const parseCancel = compileValidator<{ rolloutId: string }>(cancelUpdateSchema, 'cancel-update body');

export interface DeviceLifecycleRoutesDeps {
  /** decommission-service.ts, bound to its stores by the composition root. */
  decommission(deviceId: string, actor: string): Promise<number>;
  /** cancel-update-service.ts, bound to its stores by the composition root. */
  cancelUpdate(deviceId: string, rolloutId: string, actor: string): Promise<CancelledUpdate>;
  jsonBody: RequestHandler;
}

/** Operators' fleet-lifecycle routes on one device (protocol §7 "Fleet lifecycle"). */
export function deviceLifecycleRoutes(deps: DeviceLifecycleRoutesDeps): Router {
  const router = Router();
  router.delete('/v1/devices/:deviceId', requireRole(...LIFECYCLE_ROLES.decommission), async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    await deps.decommission(id, actorOf(principalOf(res)));
    res.status(204).end();
  });
  router.post('/v1/devices/:deviceId/cancel-update', requireRole(...LIFECYCLE_ROLES['cancel-update']), deps.jsonBody, async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    const { rolloutId } = parseCancel(req.body);
    res.json(await deps.cancelUpdate(id, rolloutId, actorOf(principalOf(res))));
  });
  return router;
}
