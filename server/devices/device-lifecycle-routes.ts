import { Router } from 'express';
import cancelUpdateSchema from '../../manifests/schema/api/cancel-update.schema.json' with { type: 'json' };
import { requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { DEVICE_ID_RE, pathParam } from '../http/params.js';
import { cancelUpdate } from '../rollouts/cancel-update-service.js';
import { compileValidator } from '../schema/validator.js';
import { decommissionDevice } from './decommission-service.js';

const parseCancel = compileValidator<{ rolloutId: string }>(cancelUpdateSchema, 'cancel-update body');

/** Operators' fleet-lifecycle routes on one device (protocol §7 "Fleet lifecycle"). */
export function deviceLifecycleRoutes(ctx: AppContext): Router {
  const router = Router();
  router.delete('/v1/devices/:deviceId', requireRole('release-manager'), async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    await decommissionDevice(id, actorOf(principalOf(res)), ctx);
    res.status(204).end();
  });
  router.post('/v1/devices/:deviceId/cancel-update', requireRole('release-manager'), ctx.jsonBody, async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    const { rolloutId } = parseCancel(req.body);
    res.json(await cancelUpdate(id, rolloutId, actorOf(principalOf(res)), ctx));
  });
  return router;
}
