import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { ApiRoute } from './api-routes.js';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An OpenAPI path template as a matcher of request paths: a `{name}` is one
 * segment; nothing else varies. Express's default routing would also take a
 * trailing slash or another letter case, but the device edge (the native,
 * DDI and Mender hot routes) matches exactly: such a variant of an edge
 * route got past this check, was asked for a token (401, counted as a
 * refused credential), then answered 404. A path is the path the table
 * names, for every route alike.
 */
const matcherOf = (template: string): RegExp =>
  new RegExp(`^${template.split(/\{[^}]+\}/).map(escapeRegExp).join('[^/]+')}$`);

/**
 * protocol §7: unknown paths are 404 with or without a token. Placed before
 * authentication, so a request no route of the table (api-routes.ts, which
 * the OpenAPI test holds complete) could answer — an unknown path, or a
 * method the path does not have — is 404 at once, while a known route still
 * needs its credential first (401 before the 404 of a missing resource).
 */
export function refuseUnknownPaths(routes: readonly Pick<ApiRoute, 'method' | 'path'>[]) {
  const known = routes.map((r) => ({ method: r.method.toUpperCase(), path: matcherOf(r.path) }));
  return (req: Request, _res: Response, next: NextFunction): void => {
    // Express answers HEAD with a GET route.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!known.some((k) => k.method === method && k.path.test(req.path))) throw new AppError('not_found', `no route for ${req.method} ${req.path.slice(0, 200)}`);
    next();
  };
}
