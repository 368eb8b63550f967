import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { AppError, isAppError } from '../errors.js';
import { writeError } from '../http/error-handler.js';
import { isClientAbort } from '../http/client-abort.js';
import { decodeDeviceId } from '../http/params.js';
import { requestIdOf } from '../http/request-id.js';
import { readJsonBody } from '../http/raw-json-body.js';
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
    const started = process.hrtime.bigint();
    const ip = req.socket?.remoteAddress ?? 'unknown';
    const handle = async (): Promise<void> => {
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new AppError('unauthorized', 'a device token is required');
      const device = deviceForToken(ctx.devices, ctx.operatorTokens, decodeDeviceId(match[1] as string), authorization);
      const reports = parseReportBatch(await readJsonBody(req, ctx.config.maxJsonBytes));
      const body = JSON.stringify(await ctx.ingest.submit(device, reports));
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    let aborted = false;
    handle()
      .catch((e: unknown) => {
        if (!isAppError(e) && isClientAbort(e, req)) {
          aborted = true;
          return void res.destroy();
        }
        if (!isAppError(e)) ctx.logger.error({ err: e, requestId: requestIdOf(req) }, 'report ingestion failed');
        if (res.headersSent) return void res.destroy();
        // Unread body bytes must not be parsed as the next request on this connection.
        if (!req.complete) res.setHeader('Connection', 'close');
        writeError(res, isAppError(e) ? observer.refused(ip, e) : new AppError('internal', 'internal error'));
      })
      .finally(() => {
        const f = { method: 'POST', path: (req.url ?? '').split('?')[0] as string, route: ROUTE, ip, started };
        // Ids only where a log line carries one: the hot 200 path skips them.
        if (aborted) observer.aborted({ ...f, requestId: requestIdOf(req) });
        else observer.finish({ ...f, status: res.statusCode, ...(res.statusCode >= 500 ? { requestId: requestIdOf(req) } : {}) });
      });
    return true;
  };
}
