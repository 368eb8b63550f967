import { Router, type RequestHandler } from 'express';
import admissionSchema from '../../../manifests/schema/api/device-admission.schema.json' with { type: 'json' };
import preauthorizationSchema from '../../../manifests/schema/api/device-preauthorization.schema.json' with { type: 'json' };
import { requireRole } from '../../auth/authorize.js';
import { actorOf, principalOf } from '../../auth/principal.js';
import { optionalJsonBody } from '../../http/json-body.js';
import { DEVICE_ID_RE, pathParam } from '../../http/params.js';
import { compileValidator } from '../../schema/validator.js';
import type { AdmissionService } from './admission-service.js';
import { identityOf } from './device-identity.js';

const parseAccept = compileValidator<{ keySha256?: string }>(admissionSchema, 'device admission');
const parsePreauthorization = compileValidator<{ idData: string; pubkey: string }>(preauthorizationSchema, 'device preauthorization');

/**
 * Operators decide admission (protocol §12): accept or reject a device that
 * asked, or preauthorize an identity and key. Release managers (and admin),
 * each audit-logged by the service. The pending list is GET
 * /v1/devices?admission=pending (device-query-routes.ts).
 */
export function admissionRoutes(deps: { admission: AdmissionService; jsonBody: RequestHandler }): Router {
  const router = Router();
  const managers = requireRole('release-manager');
  router.post('/v1/devices/:deviceId/accept', managers, optionalJsonBody(deps.jsonBody), async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    const body = parseAccept(req.body);
    res.json(await deps.admission.accept(id, actorOf(principalOf(res)), body.keySha256));
  });
  router.post('/v1/devices/:deviceId/reject', managers, optionalJsonBody(deps.jsonBody), async (req, res) => {
    const id = pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id');
    parseAccept(req.body);
    res.json(await deps.admission.reject(id, actorOf(principalOf(res))));
  });
  router.post('/v1/preauthorizations', managers, deps.jsonBody, async (req, res) => {
    const body = parsePreauthorization(req.body);
    const identity = identityOf({ id_data: body.idData, pubkey: body.pubkey });
    res.status(201).json(await deps.admission.preauthorize(identity, actorOf(principalOf(res))));
  });
  return router;
}
