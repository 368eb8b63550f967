/** protocol §5 rollout states. */
export const ROLLOUT_STATES = ['draft', 'running', 'paused', 'halted', 'completed', 'cancelled'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_ACTIONS = ['start', 'pause', 'resume', 'advance', 'halt', 'cancel'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export interface Position {
  state: RolloutState;
  currentStage: number;
}

export type Transition = { ok: true; to: Position } | { ok: false; reason: string };

/** What an action may carry besides its name (protocol §5: the acknowledgement a halted rollout's resume needs). */
export interface ActionInput {
  acknowledgeHalt?: boolean;
}

/** The body that resumes a halted rollout, spelled out in the refusal so the caller knows what to send. */
export const ACKNOWLEDGE_HINT =
  'send {"acknowledgeHalt": true, "reason": "<why it is safe to go on>"} (ota rollout resume ID --acknowledge-halt --reason TEXT), or cancel it';

/**
 * The whole state machine in one pure function: every (state, action) pair
 * is either a move or a refusal with its reason (answered 409).
 *   draft → running ⇄ paused; running/paused → halted; running → next stage
 *   or completed; anything not yet cancelled → cancelled; halted → running
 *   only with the halt acknowledged (protocol §5).
 */
export function transition(from: Position, action: RolloutAction, stageCount: number, input: ActionInput = {}): Transition {
  const refuse = (why: string): Transition => ({ ok: false, reason: `cannot ${action} a ${from.state} rollout${why ? `: ${why}` : ''}` });
  const to = (state: RolloutState, currentStage = from.currentStage): Transition => ({ ok: true, to: { state, currentStage } });
  switch (action) {
    case 'start':
      return from.state === 'draft' ? to('running', 0) : refuse('only a draft can start');
    case 'pause':
      return from.state === 'running' ? to('paused') : refuse('only a running rollout can pause');
    case 'resume':
      if (from.state === 'paused') return to('running');
      if (from.state === 'halted') return input.acknowledgeHalt === true ? to('running') : refuse(`a halt must be acknowledged: ${ACKNOWLEDGE_HINT}`);
      return refuse('only a paused or halted rollout can resume');
    case 'advance':
      if (from.state !== 'running') return refuse('only a running rollout can advance');
      return from.currentStage + 1 < stageCount ? to('running', from.currentStage + 1) : to('completed');
    case 'halt':
      return from.state === 'running' || from.state === 'paused' ? to('halted') : refuse('only a running or paused rollout can halt');
    case 'cancel':
      return from.state === 'cancelled' ? refuse('it is already cancelled') : to('cancelled');
  }
}
