import type { OperatorRole } from '../../server/auth/principal.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One operator route: a concrete path to call and the roles that may call it (protocol §7). */
export interface OperatorRoute {
  method: Method;
  /** A concrete path (parameters filled in with valid identifiers). */
  path: string;
  allowed: readonly OperatorRole[];
}

const READ: OperatorRole[] = ['admin', 'release-manager', 'qa', 'viewer'];
const PUBLISH: OperatorRole[] = ['admin', 'release-manager'];

/**
 * Every operator route. Extend this table when a route is added (rollouts,
 * cohorts, devices, audit...): test/http/operator-auth.test.ts then checks it
 * answers 401 without a valid token and 403 for every role not listed.
 */
export const OPERATOR_ROUTES: OperatorRoute[] = [
  { method: 'post', path: '/v1/releases', allowed: PUBLISH },
  { method: 'get', path: '/v1/releases', allowed: READ },
  { method: 'get', path: '/v1/releases/some-release', allowed: READ },
  { method: 'put', path: '/v1/artifacts', allowed: PUBLISH },
  { method: 'get', path: '/metrics', allowed: READ },
];
