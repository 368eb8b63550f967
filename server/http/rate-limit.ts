import { rateLimit } from 'express-rate-limit';
import type { Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { Principal } from '../auth/principal.js';

/**
 * Per-credential (or per-address before authentication) token bucket.
 * Answers the spec's 429 body with Retry-After.
 */
export function limitRate(perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req: Request, res: Response) => {
      const p = res.locals.principal as Principal | undefined;
      if (p) return p.kind === 'device' ? `d:${p.deviceId}` : `o:${p.tokenId}`;
      return `ip:${req.ip ?? 'unknown'}`;
    },
    validate: { keyGeneratorIpFallback: false },
    handler: (_req, _res, _next, options) => {
      throw new AppError('rate_limited', 'too many requests; slow down', {
        headers: { 'Retry-After': String(Math.ceil(options.windowMs / 1000)) },
      });
    },
  });
}
