import type { OperatorRole } from './principal.js';

/** protocol §7 "Fleet lifecycle" actions an operator takes through the API. */
export type LifecycleAction = 'decommission' | 'cancel-update' | 'withdraw-release' | 'failure-policy';

/**
 * Who may take each (protocol §7: "release-manager unless noted"; admin may
 * do everything). Shared by the routes, which enforce it, and the dashboard,
 * which shows an action only to the roles it would be allowed to.
 */
export const LIFECYCLE_ROLES: Readonly<Record<LifecycleAction, readonly OperatorRole[]>> = {
  decommission: ['release-manager'],
  'cancel-update': ['release-manager'],
  'withdraw-release': ['release-manager'],
  'failure-policy': ['release-manager'],
};

export const lifecycleAllowed = (role: OperatorRole, action: LifecycleAction): boolean => role === 'admin' || LIFECYCLE_ROLES[action].includes(role);
