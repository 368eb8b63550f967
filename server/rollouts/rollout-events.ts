import type { Logger } from 'pino';
import type { RolloutState } from './rollout-state.js';

/** Where a rollout stood: its state and current stage (0-based, as in the API). */
export interface RolloutPosition {
  state: RolloutState;
  stage: number;
}

/**
 * One committed change of a rollout's state or stage (protocol §5), as the
 * audit log records it: creation (from null), every operator action, and the
 * health job's automatic halts, advances and completions.
 */
export interface RolloutTransition {
  rolloutId: string;
  releaseId: string;
  /** `create`, or the state-machine action (start, pause, resume, advance, halt, cancel). */
  action: string;
  /** As the audit log names it: `operator:NAME(ROLE)` or `system:auto-halt` / `system:auto-advance`. */
  actor: string;
  from: RolloutPosition | null;
  to: RolloutPosition;
  at: string;
  /** What the audit entry carries beyond from/to: the reason, and for automatic actions the figures. */
  details: Record<string, unknown>;
}

export type RolloutListener = (t: RolloutTransition) => void;
export type RolloutEvents = ReturnType<typeof createRolloutEvents>;

/** True for the health job's own actions (auto-halt, auto-advance and the completion it may cause). */
export const isAutomatic = (t: Pick<RolloutTransition, 'actor'>): boolean => t.actor.startsWith('system:');

/**
 * The one place rollout changes are announced, after their transaction has
 * committed (rollout-service.ts emits; metrics, logs and webhooks listen).
 * Listeners run synchronously and must be cheap (count, wake); one that
 * throws is logged and never undoes or blocks the change. What must not be
 * lost (the webhook outbox) is written in the change's transaction instead.
 */
export function createRolloutEvents(logger: Logger) {
  const listeners: RolloutListener[] = [];
  return {
    on(listener: RolloutListener): void {
      listeners.push(listener);
    },
    emit(t: RolloutTransition): void {
      for (const listener of listeners) {
        try {
          listener(t);
        } catch (err) {
          logger.error({ err, rollout: t.rolloutId, action: t.action }, 'rollout listener failed');
        }
      }
    },
  };
}
