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
  { method: 'get', path: '/v1/artifacts', allowed: READ },
  { method: 'get', path: '/metrics', allowed: READ },
  // Cohorts (protocol §7): release managers write, readers read.
  { method: 'post', path: '/v1/cohorts', allowed: PUBLISH },
  { method: 'get', path: '/v1/cohorts', allowed: READ },
  { method: 'get', path: '/v1/cohorts/some-cohort', allowed: READ },
  { method: 'put', path: '/v1/cohorts/some-cohort/members', allowed: PUBLISH },
  // Rollouts: release managers drive them; QA may also stop the line (pause, halt).
  { method: 'post', path: '/v1/rollouts', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/start', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/resume', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/advance', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/cancel', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/clone', allowed: PUBLISH },
  { method: 'post', path: '/v1/rollouts/some-rollout/pause', allowed: [...PUBLISH, 'qa'] },
  { method: 'post', path: '/v1/rollouts/some-rollout/halt', allowed: [...PUBLISH, 'qa'] },
  { method: 'get', path: '/v1/rollouts', allowed: READ },
  { method: 'get', path: '/v1/rollouts/some-rollout', allowed: READ },
  { method: 'get', path: '/v1/rollouts/some-rollout/status', allowed: READ },
  { method: 'get', path: '/v1/rollouts/some-rollout/devices', allowed: READ },
  { method: 'get', path: '/v1/rollouts/some-rollout/timeline', allowed: READ },
  { method: 'get', path: '/v1/audit', allowed: READ },
  // Operators' view of devices (issue 11); a device token is refused too (test/devices/device-query.test.ts).
  { method: 'get', path: '/v1/devices', allowed: READ },
  { method: 'get', path: '/v1/devices/some-device', allowed: READ },
  // Device admission (protocol §12): release managers decide.
  { method: 'post', path: '/v1/devices/some-device/accept', allowed: PUBLISH },
  { method: 'post', path: '/v1/devices/some-device/reject', allowed: PUBLISH },
  { method: 'post', path: '/v1/preauthorizations', allowed: PUBLISH },
  // Operator tokens: admin only.
  { method: 'post', path: '/v1/tokens', allowed: ['admin'] },
  { method: 'get', path: '/v1/tokens', allowed: ['admin'] },
  { method: 'delete', path: '/v1/tokens/1', allowed: ['admin'] },
];
