import { Router } from 'express';
import semver from 'semver';
import enrollmentSchema from '../../manifests/schema/api/enrollment.schema.json' with { type: 'json' };
import { principalOf } from '../auth/principal.js';
import { bearerToken } from '../auth/tokens.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { compileValidator } from '../schema/validator.js';
import { deviceTokenHash } from './device-token.js';
import { enroll, type Enrollment } from './enrollment-service.js';

export const parseEnrollment = compileValidator<Enrollment>(enrollmentSchema, 'enrollment');

export function checkVersion(version: string, where: string): string {
  const v = semver.valid(version);
  if (v === null) throw new AppError('validation_failed', `${where} is not a semantic version`, { details: [{ path: where, message: `"${version.slice(0, 64)}" is not a semantic version` }] });
  return v;
}

/** POST /v1/devices: an enroller (or admin) token, or the device's own token to re-enroll. */
export function enrollmentRoutes(ctx: AppContext): Router {
  const router = Router();
  const enrollers = (_req: unknown, res: Parameters<typeof principalOf>[0], next: () => void): void => {
    const p = principalOf(res);
    if (p.kind === 'operator' && p.role !== 'enroller' && p.role !== 'admin') throw new AppError('forbidden', 'enrollment needs an enroller token');
    next();
  };
  router.post('/v1/devices', enrollers, ctx.jsonBody, async (req, res) => {
    const body = parseEnrollment(req.body);
    checkVersion(body.version, '/version');
    const by = principalOf(res);
    const presented = by.kind === 'device' ? bearerToken(req.headers.authorization) : undefined;
    const { deviceToken, reenrolled } = await enroll(body, by, ctx, presented === undefined ? undefined : deviceTokenHash(presented));
    res.status(201).json({ deviceToken, deviceId: body.deviceId, reenrolled });
  });
  return router;
}
