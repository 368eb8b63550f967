import type { AdmissionService } from './admission/admission-service.js';
import { Router } from 'express';
import querySchema from '../../manifests/schema/api/device-query.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { parsePage } from '../http/paging.js';
import { DEVICE_ID_RE, pathParam } from '../http/params.js';
import { compileValidator } from '../schema/validator.js';
import { deviceDetail, listDevices, type DirectoryDeps } from './device-query-service.js';

type RawQuery = { admission?: 'pending' | 'accepted' | 'rejected' | 'preauthorized'; model?: string; cohort?: string; rollout?: string; state?: string; limit?: string; cursor?: string };
const parseQuery = compileValidator<RawQuery>(querySchema, 'device query');

/** protocol §7 writes `?limit=&cursor=`: an empty value means "not given", for every filter alike. */
const given = (q: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));

/**
 * Operators' view of the fleet (issue 11): GET /v1/devices and
 * GET /v1/devices/{deviceId}. Readers only: a device token is refused (403)
 * like any other wrong role, so a device never reads another's record, nor
 * its own through this path. The device's own routes under the same prefix
 * (poll, reports) are answered ahead of Express and never reach these.
 */
export interface DeviceQueryRoutesDeps extends DirectoryDeps {
  /** protocol §12 device admission: the identities waiting to be admitted. */
  admission: Pick<AdmissionService, 'list'>;
}

export function deviceQueryRoutes(deps: DeviceQueryRoutesDeps): Router {
  const router = Router();
  router.get('/v1/devices', requireRole(...READERS), async (req, res) => {
    const q = parseQuery(given(req.query as Record<string, unknown>));
    const page = parsePage(q);
    // protocol §12: `?admission=pending` lists devices that asked to be admitted (not enrolled yet).
    if (q.admission !== undefined) return void res.json(await deps.admission.list(q.admission, page.cursor ?? '', page.limit));
    res.json(await listDevices({ model: q.model, cohort: q.cohort, rollout: q.rollout, state: q.state, limit: page.limit, cursor: page.cursor }, deps));
  });
  router.get('/v1/devices/:deviceId', requireRole(...READERS), async (req, res) => {
    res.json(await deviceDetail(pathParam(req, 'deviceId', DEVICE_ID_RE, 'device id'), deps));
  });
  return router;
}
