import type { Role, Whoami } from './types.js';

/** protocol §10: the token is held for this browser tab only (sessionStorage), never in a URL or a cookie. */
const KEY = 'ota.dashboard.token';

export const storedToken = (): string | null => sessionStorage.getItem(KEY);
export const keepToken = (token: string): void => sessionStorage.setItem(KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(KEY);

/** Roles that may read rollouts (README "Roles"); an enroller or device token cannot use the dashboard. */
const DASHBOARD_ROLES: ReadonlySet<Role> = new Set(['admin', 'release-manager', 'qa', 'viewer']);

/** Why a token that the server accepted still cannot sign in, or undefined when it can. */
export function refusal(who: Whoami): string | undefined {
  if (who.kind !== 'operator') return 'This is a device token. Sign in with an operator token.';
  if (!who.role || !DASHBOARD_ROLES.has(who.role)) return `A ${who.role ?? 'token without a'} role cannot read rollouts. Sign in with a release-manager, qa, viewer or admin token.`;
  return undefined;
}
