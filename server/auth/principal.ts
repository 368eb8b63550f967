import type { Response } from 'express';
import { AppError } from '../errors.js';

/** protocol §7: operator tokens carry one role; `gateway` acts for any device over the DDI gateway (§11). */
export const OPERATOR_ROLES = ['admin', 'release-manager', 'qa', 'viewer', 'enroller', 'gateway'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
export const isOperatorRole = (r: string): r is OperatorRole => (OPERATOR_ROLES as readonly string[]).includes(r);

export type Principal =
  | { kind: 'operator'; role: OperatorRole; name: string; tokenId: number }
  | { kind: 'device'; deviceId: string };

/** How the audit log names whoever acted. */
export const actorOf = (p: Principal): string =>
  p.kind === 'operator' ? `operator:${p.name}(${p.role})` : `device:${p.deviceId}`;

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError('unauthorized', 'authentication required');
  return p;
}
