import type { Device, DeviceCore, IngestResult } from '../device-core/device-core.js';
import { AppError } from '../errors.js';
import { jsonReply, type EdgeRoute } from '../http/device-edge.js';
import { decodeDeviceId } from '../http/params.js';
import { parseReportBatch } from './report-parse.js';

const REPORTS_RE = /^\/v1\/devices\/([^/?]+)\/reports(?:\?.*)?$/;

/**
 * POST /v1/devices/{id}/reports (protocol §7): the route a fleet bursts when
 * a rollout widens, served by the device edge. The device is authenticated
 * before the body is read; the 200 comes only after the group commit.
 */
export function reportRoute(deps: { core: Pick<DeviceCore, 'authenticate' | 'report'> }): EdgeRoute<RegExpExecArray, Device, IngestResult> {
  const { core } = deps;
  return {
    route: '/v1/devices/:deviceId/reports',
    methods: ['POST'],
    match: (url) => REPORTS_RE.exec(url) ?? undefined,
    auth(req, match) {
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new AppError('unauthorized', 'a device token is required');
      return core.authenticate(decodeDeviceId(match[1] as string), authorization);
    },
    body: 'json',
    core: (device, body) => core.report(device, parseReportBatch(body)),
    send: (result) => jsonReply(200, result),
  };
}
