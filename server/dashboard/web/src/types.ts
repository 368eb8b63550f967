/** The shapes the dashboard reads from the API (protocol §5, §7); only the fields it uses. */
import type { RolloutState } from '../../../rollouts/rollout-state.js';

export type Role = 'admin' | 'release-manager' | 'qa' | 'viewer' | 'enroller';

export interface Whoami {
  kind: 'operator' | 'device';
  name?: string;
  role?: Role;
  deviceId?: string;
}

export interface Stage {
  cohort: string;
  basisPoints: number;
  minDwellSeconds: number;
  autoAdvance: boolean;
}

export interface Rollout {
  id: string;
  releaseId: string;
  stages: Stage[];
  failurePolicy: { maxFailureBasisPoints: number; minTerminalReports: number; reportTimeoutSeconds: number };
  state: RolloutState;
  currentStage: number;
  stageStartedAt: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export interface RolloutStatus {
  id: string;
  state: RolloutState;
  stage: number;
  eligible: number | null;
  offered: number;
  reported: number;
  counts: Record<string, number>;
  failure: { terminal: number; failures: number; rateBasisPoints: number; maxFailureBasisPoints: number; minTerminalReports: number };
  settings: Record<string, { value: unknown; source: string; devices: number }[]>;
  compliance: { consentOnByDefault: number };
  stages: { stage: number; cohort: string; basisPoints: number; reached: boolean; eligible: number | null; offered: number; reported: number; silent: number }[];
  silentDevices: { deviceId: string; stage: number; offeredAt: string; lastSeen: string | null }[];
}

export interface DeviceError {
  code: string;
  message: string;
}

export interface RolloutDevice {
  deviceId: string;
  stage: number;
  state: string;
  offeredAt: string;
  stateAt: string | null;
  lastSeen: string | null;
  error: DeviceError | null;
}

// The server's own definition of an entry as served (the chain formula lives beside it).
export type { AuditEntry } from '../../../audit/audit-chain.js';

export interface TimelinePoint {
  at: string;
  terminal: number;
  failures: number;
  rateBasisPoints: number;
}

export interface Timeline {
  intervalSeconds: number;
  maxFailureBasisPoints: number;
  minTerminalReports: number;
  points: TimelinePoint[];
}

export interface SettingChange {
  key: string;
  value: unknown;
  mode: string;
}

export interface ReleaseView {
  id: string;
  manifestSha256: string;
  issuedAt: string;
  publishedAt: string;
  publishedBy: string;
  release: {
    signed: {
      id: string;
      models: string[];
      appliesTo: string;
      version?: string;
      artifact?: { sha256: string; size: number; url?: string };
      settings: SettingChange[];
      mandatory: boolean;
      downgrade: boolean;
      issuedAt: string;
      expires?: string;
      notes?: string;
    };
    signatures: { keyid: string; sig: string }[];
  };
}

export interface PolicySpec {
  type: string;
  consent?: boolean;
  safeValue?: unknown;
  description?: string;
}

export interface Policy {
  signed: { version: number; settings: Record<string, PolicySpec> };
}

export interface DeviceReport {
  seq: number;
  state: string;
  at: string;
  receivedAt: string;
  version: string | null;
  error: DeviceError | null;
}

export interface DeviceDetail {
  deviceId: string;
  model: string;
  version: string;
  attributes: Record<string, unknown>;
  enrolledAt: string;
  lastSeen: string;
  lastSeq: number | null;
  cohorts: string[];
  rollouts: {
    rolloutId: string;
    releaseId: string;
    rolloutState: string;
    stage: number;
    offeredAt: string;
    state: string;
    stateAt: string | null;
    error: DeviceError | null;
    reports: DeviceReport[];
  }[];
}

export interface DeviceSummary {
  deviceId: string;
  model: string;
  version: string;
  enrolledAt: string;
  lastSeen: string;
}

/** GET /v1/devices?admission=pending: a device that asked to be admitted (protocol §12). */
export interface PendingDevice {
  deviceId: string;
  admission: 'pending' | 'accepted' | 'rejected' | 'preauthorized';
  idData: Record<string, unknown>;
  keySha256: string;
  requestedAt: string;
}
