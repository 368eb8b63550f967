import { rateLimit } from 'express-rate-limit';
import type { Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { Principal } from '../auth/principal.js';

const refuse = (windowMs: number) => (): never => {
  throw new AppError('rate_limited', 'too many requests; slow down', { headers: { 'Retry-After': String(Math.ceil(windowMs / 1000)) } });
};

/** Per credential, after authentication: operators and enrollment. */
export function limitPrincipal(perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (_req: Request, res: Response) => {
      const p = res.locals.principal as Principal | undefined;
      return p?.kind === 'operator' ? `o:${p.tokenId}` : `d:${p?.deviceId ?? 'unknown'}`;
    },
    validate: { keyGeneratorIpFallback: false },
    handler: refuse(60_000),
  });
}

/** Per client address, for the few public routes that do real work per request (e.g. verifying a cosignature). */
export function limitAddress(perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: refuse(60_000),
  });
}
