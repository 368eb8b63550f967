import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { decodeDeviceId } from '../http/params.js';
import { readJsonBody } from '../http/raw-json-body.js';
import { serveBodyRoute } from '../http/body-fast-path.js';
import type { RequestObserver } from '../http/request-observer.js';
import { parseReportBatch } from '../reports/report-parse.js';
import { deviceForToken } from './device-auth.js';

const REPORTS_RE = /^\/v1\/devices\/([^/?]+)\/reports(?:\?.*)?$/;
const ROUTE = '/v1/devices/:deviceId/reports';

/**
 * POST /v1/devices/{id}/reports straight from node:http, like the poll
 * (poll-fast-path.ts): the route a fleet bursts when a rollout widens. Same
 * device authentication (before the body is read), same body limits and
 * error bodies, same observer; the 200 comes only after the group commit.
 */
export function reportFastPath(ctx: AppContext, observer: RequestObserver) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const match = REPORTS_RE.exec(req.url ?? '');
    if (!match) return false;
    serveBodyRoute(req, res, { observer, logger: ctx.logger, route: ROUTE, what: 'report ingestion' }, async (): Promise<void> => {
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new AppError('unauthorized', 'a device token is required');
      const device = await deviceForToken(ctx.devices, ctx.operatorTokens, decodeDeviceId(match[1] as string), authorization);
      const reports = parseReportBatch(await readJsonBody(req, ctx.config.maxJsonBytes));
      const body = JSON.stringify(await ctx.ingest.submit(device, reports));
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    return true;
  };
}
