import { databaseAppError } from '../db/database-errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import semver from 'semver';
import type { AppContext } from '../context.js';
import { AppError, isAppError } from '../errors.js';
import { writeError } from '../http/error-handler.js';
import { decodeDeviceId } from '../http/params.js';
import { requestIdOf } from '../http/request-id.js';
import type { RequestObserver } from '../http/request-observer.js';
import { deviceForToken } from './device-auth.js';
import type { Device } from './device-store.js';
import type { PollAnswer } from './poll-service.js';

const POLL_RE = /^\/v1\/devices\/([^/?]+)\/update(?:\?(.*))?$/;
const ROUTE = '/v1/devices/:deviceId/update';
const SEEN_RESOLUTION_MS = 60_000;

function parseTarget(match: RegExpExecArray): { deviceId: string; version: string | undefined } {
  const deviceId = decodeDeviceId(match[1] as string);
  const versions = new URLSearchParams(match[2] ?? '').getAll('version');
  if (versions.length > 1) throw new AppError('bad_request', 'version must be given once');
  const raw = versions[0];
  if (raw === undefined) return { deviceId, version: undefined };
  const version = semver.valid(raw);
  if (version === null) {
    throw new AppError('validation_failed', 'version is not a semantic version', { details: [{ path: 'version', message: `"${raw.slice(0, 64)}" is not a semantic version` }] });
  }
  return { deviceId, version };
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): a W/ prefix a proxy added still matches. */
const matchesEtag = (header: string | undefined, etag: string): boolean =>
  header !== undefined &&
  (header === etag || header.split(',').some((t) => {
    const tag = t.trim();
    return tag === etag || tag === `W/${etag}` || tag === '*';
  }));

/**
 * GET /v1/devices/{id}/update served straight from node:http, ahead of
 * Express: the one route every device calls on a schedule. It keeps every
 * guarantee of the Express routes — the same device authentication, the
 * same error bodies, metrics, access log and refused-credential limit — and
 * skips only the router and response helpers (profiled at about a third of
 * the poll's CPU). Returns false for any other request.
 */
function respond(req: IncomingMessage, res: ServerResponse, answer: PollAnswer): void {
  if (matchesEtag(req.headers['if-none-match'], answer.etag)) {
    res.writeHead(304, { ETag: answer.etag, 'Cache-Control': 'private, no-cache' });
    res.end();
  } else {
    res.writeHead(200, {
      ETag: answer.etag,
      'Cache-Control': 'private, no-cache',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': answer.bytes.length,
    });
    res.end(req.method === 'HEAD' ? undefined : answer.bytes);
  }
}

export function pollFastPath(ctx: AppContext, observer: RequestObserver) {
  const fail = (req: IncomingMessage, res: ServerResponse, ip: string, e: unknown): void => {
    const known = isAppError(e) ? e : databaseAppError(e);
    if (!known) ctx.logger.error({ err: e, requestId: requestIdOf(req) }, 'poll failed');
    else if (!isAppError(e) && !observer.databaseAway(e)) ctx.logger.warn({ err: e, requestId: requestIdOf(req) }, 'poll: database refused');
    writeError(res, known ? observer.refused(ip, known) : new AppError('internal', 'internal error'));
  };
  const finish = (req: IncomingMessage, res: ServerResponse, ip: string, started: bigint): void =>
    observer.finish({ method: req.method as string, path: (req.url ?? '').split('?')[0] as string, route: ROUTE, status: res.statusCode, ip, started });
  const answerFor = (device: Device, version: string | undefined): PollAnswer | Promise<PollAnswer> => {
    const installed = version ?? device.version;
    const now = ctx.now().getTime();
    // lastSeen to the minute: a device polling often does not rewrite its row every time.
    if (installed !== device.version || now - device.lastSeen >= SEEN_RESOLUTION_MS) ctx.activity.seen(device.id, installed, now);
    return ctx.poll.poll(device, installed, now);
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const match = POLL_RE.exec(req.url ?? '');
    if (!match) return false;
    const started = process.hrtime.bigint();
    const ip = req.socket?.remoteAddress ?? 'unknown';
    try {
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new AppError('unauthorized', 'a device token is required', { headers: { 'WWW-Authenticate': 'Bearer' } });
      const target = parseTarget(match);
      // A cached device whose cohorts are in memory is answered in this turn, without a promise or a
      // closure; only a store read (device-cache miss, a large cohort, a paused offer) makes it wait.
      const device = deviceForToken(ctx.devices, ctx.operatorTokens, target.deviceId, authorization);
      const answer = device instanceof Promise ? device.then((d) => answerFor(d, target.version)) : answerFor(device, target.version);
      if (answer instanceof Promise) {
        void answer
          .then((a) => respond(req, res, a))
          .catch((e: unknown) => fail(req, res, ip, e))
          .finally(() => finish(req, res, ip, started));
        return true;
      }
      respond(req, res, answer);
    } catch (e) {
      fail(req, res, ip, e);
    }
    finish(req, res, ip, started);
    return true;
  };
}
