import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { bearerToken, noBearerToken } from './tokens.js';
import type { OperatorRole, Principal } from './principal.js';

/** Turns a bearer token into a principal, or undefined when no credential matches. */
export type TokenResolver = (token: string) => Promise<Principal | undefined>;

/**
 * protocol §7: 401 without valid credentials, 403 with the wrong role.
 * Resolvers are tried in order; the first that knows the token wins.
 */
export function authenticate(resolvers: TokenResolver[]) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    let principal: Principal | undefined;
    if (token !== undefined) for (const resolve of resolvers) if ((principal = await resolve(token))) break;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new AppError('unauthorized', token === undefined ? noBearerToken(req.headers.authorization, 'a bearer token is required') : 'the token is not valid');
    }
    res.locals.principal = principal;
    next();
  };
}

/** Allows operators holding one of `roles` (admin always included). */
export function requireRole(...roles: OperatorRole[]) {
  const allowed = new Set<OperatorRole>(['admin', ...roles]);
  return (_req: Request, res: Response, next: NextFunction): void => {
    const p = res.locals.principal as Principal;
    if (p.kind !== 'operator' || !allowed.has(p.role)) {
      throw new AppError('forbidden', `this needs one of the roles: ${[...allowed].join(', ')}`);
    }
    next();
  };
}

/** Roles that may read (releases, cohorts, rollouts, status). */
export const READERS: OperatorRole[] = ['release-manager', 'qa', 'viewer'];
