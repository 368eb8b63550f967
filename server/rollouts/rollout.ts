import type { MaintenanceWindow } from './maintenance-window.js';
import type { FailureFigures } from '../protocol/report-rules.js';
import type { RolloutState } from './rollout-state.js';

/** protocol §5 */
export interface Stage {
  cohort: string;
  basisPoints: number;
  minDwellSeconds: number;
  autoAdvance: boolean;
  /** protocol §7: installs may start only inside it (maintenance-window.ts). */
  window?: MaintenanceWindow;
}

export interface FailurePolicy {
  maxFailureBasisPoints: number;
  minTerminalReports: number;
  reportTimeoutSeconds: number;
}

export interface Rollout {
  /** protocol §7: when the draft starts by itself (RFC 3339); null or absent = by hand. */
  startAt?: string | null;
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
  /** The latest halt (automatic or by hand), kept after a resume; null if it never halted. */
  lastHalt: HaltRecord | null;
  /** Set by an acknowledged resume: auto-halt then judges the reports that came after it. */
  overruledHalt: OverruledHalt | null;
}

/** Why a rollout halted, as its audit entry says (protocol §5: "recorded in the audit log with the figures"). */
export interface HaltRecord {
  at: string;
  actor: string;
  /** seq of the `rollout.halt` audit entry. */
  auditSeq: number;
  reason: string | null;
  /** For an auto-halt: terminal reports, failures, the rate and the counts by state. */
  figures: (FailureFigures & { rateBasisPoints: number }) | null;
}

/**
 * A halt overruled on the record (protocol §5): who resumed, why, and the
 * terminal counts at that moment, which stay in status.
 */
export interface OverruledHalt {
  at: string;
  actor: string;
  reason: string;
  /** seq of the `rollout.resume` audit entry. */
  auditSeq: number;
  terminal: number;
  failures: number;
}
