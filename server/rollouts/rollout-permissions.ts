import type { OperatorRole } from '../auth/principal.js';
import { transition, type RolloutAction, type RolloutState } from './rollout-state.js';

/**
 * Who may take each action: QA may stop the line (pause, halt), not start it.
 * Shared by the routes (which enforce it) and the dashboard (which enables
 * only the buttons that would be allowed); admin may do everything.
 */
export const ACTION_ROLES: Readonly<Record<RolloutAction, readonly OperatorRole[]>> = {
  start: ['release-manager'],
  resume: ['release-manager'],
  advance: ['release-manager'],
  cancel: ['release-manager'],
  pause: ['release-manager', 'qa'],
  halt: ['release-manager', 'qa'],
};

export const roleMay = (role: OperatorRole, action: RolloutAction): boolean => role === 'admin' || ACTION_ROLES[action].includes(role);

/**
 * Whether `role` may take `action` on a rollout in `state` at `currentStage`.
 * protocol §5: a halted rollout can be resumed too, by a release manager who
 * acknowledges the halt and gives a reason (the dashboard asks for it).
 */
export function actionAllowed(role: OperatorRole, action: RolloutAction, state: RolloutState, currentStage: number, stageCount: number): boolean {
  if (!roleMay(role, action)) return false;
  if (action === 'resume' && state === 'halted') return true;
  return transition({ state, currentStage }, action, stageCount).ok;
}
