import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import semver from 'semver';
import enrollmentSchema from '../../manifests/schema/api/enrollment.schema.json' with { type: 'json' };
import type { Principal } from '../auth/principal.js';
import { bearerToken } from '../auth/tokens.js';
import type { Device, DeviceCore, EnrollResult, PollAnswer } from '../device-core/device-core.js';
import { AppError } from '../errors.js';
import { jsonReply, type EdgeReply, type EdgeRoute } from '../http/device-edge.js';
import { decodeDeviceId } from '../http/params.js';
import { validVersion } from '../protocol/versions.js';
import { compileValidator } from '../schema/validator.js';
import type { Enrollment } from './enrollment-service.js';

const parseEnrollment = compileValidator<Enrollment>(enrollmentSchema, 'enrollment');

const POLL_RE = /^\/v1\/devices\/([^/?]+)\/update(?:\?(.*))?$/;
// Express matched this path case-insensitively and with an optional trailing slash; so does the edge.
const ENROLL_RE = /^\/v1\/devices\/?(?:\?.*)?$/i;

export interface DeviceRoutesDeps {
  core: Pick<DeviceCore, 'authenticate' | 'nativePoll' | 'credential' | 'mayEnroll' | 'enroll'>;
  /** The per-credential limiter the Express routes use (one budget whichever way a request came in). */
  limiter: RequestHandler;
}

/** The poll's target, then its device once authenticated (one object per poll, as the path is parsed). */
interface PollTarget {
  deviceId: string;
  version: string | undefined;
  device: Device | undefined;
}

function parseTarget(match: RegExpExecArray): PollTarget {
  const deviceId = decodeDeviceId(match[1] as string);
  const versions = new URLSearchParams(match[2] ?? '').getAll('version');
  if (versions.length > 1) throw new AppError('bad_request', 'version must be given once');
  const raw = versions[0];
  if (raw === undefined) return { deviceId, version: undefined, device: undefined };
  const version = validVersion(raw);
  if (version === null) {
    throw new AppError('validation_failed', 'version is not a semantic version', { details: [{ path: 'version', message: `"${raw.slice(0, 64)}" is not a semantic version` }] });
  }
  return { deviceId, version, device: undefined };
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): a W/ prefix a proxy added still matches. */
const matchesEtag = (header: string | undefined, etag: string): boolean =>
  header !== undefined &&
  (header === etag || header.split(',').some((t) => {
    const tag = t.trim();
    return tag === etag || tag === `W/${etag}` || tag === '*';
  }));

const withDevice = (target: PollTarget, device: Device): PollTarget => {
  target.device = device;
  return target;
};

/**
 * GET /v1/devices/{id}/update (protocol §7): the one route every device
 * calls on a schedule. A cached device whose cohorts are in memory is
 * answered in the request's own turn, without a promise or a closure; only a
 * store read (device-cache miss, a large cohort, a paused offer) makes it wait.
 */
export function pollRoute(deps: Pick<DeviceRoutesDeps, 'core'>): EdgeRoute<RegExpExecArray, PollTarget, PollAnswer> {
  const { core } = deps;
  return {
    route: '/v1/devices/:deviceId/update',
    methods: ['GET', 'HEAD'],
    match: (url) => POLL_RE.exec(url) ?? undefined,
    auth(req, match) {
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new AppError('unauthorized', 'a device token is required', { headers: { 'WWW-Authenticate': 'Bearer' } });
      const target = parseTarget(match);
      const device = core.authenticate(target.deviceId, authorization);
      return device instanceof Promise ? device.then((d) => withDevice(target, d)) : withDevice(target, device);
    },
    body: 'none',
    core: (target) => core.nativePoll(target.device as Device, target.version),
    send(answer, req): EdgeReply {
      if (matchesEtag(req.headers['if-none-match'], answer.etag)) return { status: 304, headers: { ETag: answer.etag, 'Cache-Control': 'private, no-cache' }, body: undefined };
      return {
        status: 200,
        headers: { ETag: answer.etag, 'Cache-Control': 'private, no-cache', 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': answer.bytes.length },
        body: answer.bytes,
      };
    },
  };
}

/**
 * POST /v1/devices (protocol §7): an enroller (or admin) token, or the
 * device's own token to re-enroll. A factory line enrolls in bursts, so it is
 * served by the edge too. Refusal order: 401 (credential), 429 (the
 * per-credential limiter), 403 (role), then the body (415/413/400), the
 * schema (400); 201 only after the group commit.
 */
export function enrollRoute(deps: DeviceRoutesDeps): EdgeRoute<true, Principal, EnrollResult> {
  const { core, limiter } = deps;
  const limit = (req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> =>
    new Promise((resolve, reject) => {
      // express-rate-limit keys on res.locals.principal (as the Express chain sets it) and sets its headers on the answer.
      (res as ServerResponse & { locals: { principal: Principal } }).locals = { principal };
      void limiter(req as Parameters<RequestHandler>[0], res as Parameters<RequestHandler>[1], (err?: unknown) => (err ? reject(err) : resolve()));
    });
  return {
    route: '/v1/devices',
    methods: ['POST'],
    match: (url) => (ENROLL_RE.test(url) ? true : undefined),
    async auth(req, _match, res) {
      const by = await core.credential(req.headers.authorization);
      await limit(req, res, by);
      core.mayEnroll(by);
      return by;
    },
    body: 'json',
    core(by, body, req) {
      const e = parseEnrollment(body);
      const v = semver.valid(e.version);
      if (v === null) throw new AppError('validation_failed', '/version is not a semantic version', { details: [{ path: '/version', message: `"${e.version.slice(0, 64)}" is not a semantic version` }] });
      return core.enroll(e, by, by.kind === 'device' ? bearerToken(req.headers.authorization) : undefined);
    },
    // The answer carries a secret: never cached.
    send: (r) => jsonReply(201, { deviceToken: r.deviceToken, deviceId: r.deviceId, reenrolled: r.reenrolled }, { 'Cache-Control': 'no-store' }),
  };
}
