import type { RolloutState } from './rollout-state.js';

/** protocol §5 */
export interface Stage {
  cohort: string;
  basisPoints: number;
  minDwellSeconds: number;
  autoAdvance: boolean;
}

export interface FailurePolicy {
  maxFailureBasisPoints: number;
  minTerminalReports: number;
  reportTimeoutSeconds: number;
}

export interface Rollout {
  id: string;
  releaseId: string;
  salt: string;
  stages: Stage[];
  failurePolicy: FailurePolicy;
  state: RolloutState;
  currentStage: number;
  /** Epoch ms when the current stage began (null while draft). */
  stageStartedAt: number | null;
  /** protocol §6: increases with every change to the rollout's statements. */
  statementVersion: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** protocol §6: the signed body of a rollout statement. */
export interface RolloutStatementSigned {
  type: 'rollout';
  rolloutId: string;
  releaseId: string;
  manifestSha256: string;
  stage: number;
  cohort: string;
  basisPoints: number;
  salt: string;
  version: number;
  issuedAt: string;
  expires: string;
}
