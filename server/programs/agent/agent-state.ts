import { parseRoot, type RootEnvelope } from '../../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope, type SettingValue } from '../../protocol/trust/settings-policy.js';
import type { PartialDownload } from './ports.js';
import type { RejectReason } from './reasons.js';
import type { AgentReport, ReportState } from './reporter.js';
import { SettingsStore, type SettingsMap } from './settings-store.js';
import type { KeptCheckpoint } from './verify-log.js';
import type { Observed, OfferContext } from './verify-offer.js';

export const STATE_FORMAT = 1;

/** How the agent last finished with a rollout: it never acts on that rollout again. */
export interface SettledRollout {
  releaseId: string;
  outcome: 'applied' | 'failed' | 'rejected';
}

/**
 * Everything a restart must resume from, persisted as one JSON document.
 * Plain data only: the agent mutates it, then saves it whole.
 */
export interface AgentState {
  format: typeof STATE_FORMAT;
  deviceId: string;
  model: string;
  installedVersion: string;
  /** Newest trusted root (protocol §2) and the policy it signed (§3). */
  root: RootEnvelope;
  policy?: PolicyEnvelope;
  /** ETag of `policy` as served, for conditional GETs. */
  policyEtag?: string;
  settings: SettingsMap;
  /** Last report seq assigned (protocol §7: per device, increasing). */
  seq: number;
  /** Reports not yet acknowledged with a 2xx, oldest first. */
  queue: AgentReport[];
  /** Reports the server refused for good (4xx naming them), newest last, bounded. */
  refused: { report: AgentReport; error: string }[];
  /** protocol §6: highest statement version verified per rollout. */
  seenStatements: Record<string, number>;
  /** protocol §6: newest issuedAt verified; "now" never goes below it. */
  timeFloor?: string;
  /** protocol §4: settings-only releases applied, and the newest issuedAt among them. */
  settingsOnly: { applied: string[]; newestIssuedAt?: string };
  /** ETag of the last poll answer fully handled, and its pollAfterSeconds. */
  etag?: string;
  pollAfterSeconds?: number;
  partial?: PartialDownload;
  /** The offer being worked on and the last state reported for it. */
  inFlight?: { rolloutId: string; releaseId: string; state: ReportState };
  settled: Record<string, SettledRollout>;
  /** protocol §8: the largest transparency-log checkpoint verified so far (absent until the first). */
  checkpoint?: KeptCheckpoint;
}

export interface StateSeed {
  deviceId: string;
  model: string;
  factoryVersion: string;
  factorySettings?: Readonly<Record<string, SettingValue>>;
  pinnedRoot: unknown;
}

export class StateError extends Error {}

/** A device's first state: the pinned root, factory version and settings. */
export function initialState(seed: StateSeed): AgentState {
  return {
    format: STATE_FORMAT,
    deviceId: seed.deviceId,
    model: seed.model,
    installedVersion: seed.factoryVersion,
    root: parseRoot(seed.pinnedRoot),
    settings: SettingsStore.factory(seed.factorySettings),
    seq: 0,
    queue: [],
    refused: [],
    seenStatements: {},
    settingsOnly: { applied: [] },
    settled: {},
  };
}

/**
 * A saved state, checked enough to trust our own file: right format and
 * device, documents that still parse. A pinned root newer than the saved one
 * (a firmware update shipped it) wins.
 */
export function restoreState(raw: unknown, seed: StateSeed): AgentState {
  const s = raw as Partial<AgentState> | null;
  if (!s || typeof s !== 'object' || s.format !== STATE_FORMAT) throw new StateError(`state is not format ${STATE_FORMAT}`);
  if (s.deviceId !== seed.deviceId) throw new StateError(`state belongs to device ${String(s.deviceId)}, not ${seed.deviceId}`);
  const pinned = parseRoot(seed.pinnedRoot);
  const saved = parseRoot(s.root);
  const state = { ...initialState(seed), ...s } as AgentState;
  state.root = pinned.signed.version > saved.signed.version ? pinned : saved;
  if (s.policy) state.policy = parsePolicy(s.policy);
  return state;
}

const MAX_SETTLED = 1000;

/** Records the end of a rollout for this device, forgetting the oldest beyond a bound. */
export function settle(state: AgentState, rolloutId: string, value: SettledRollout): void {
  delete state.settled[rolloutId];
  state.settled[rolloutId] = value;
  const ids = Object.keys(state.settled);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_SETTLED))) delete state.settled[id];
  if (state.inFlight?.rolloutId === rolloutId) delete state.inFlight;
}

/** What verifyOffer checks an offer against, read from the state. */
export const offerContextOf = (st: AgentState, trustProblems: readonly RejectReason[]): OfferContext => ({
  deviceId: st.deviceId,
  model: st.model,
  installedVersion: st.installedVersion,
  root: st.root.signed,
  policy: st.policy?.signed,
  trustProblems,
  seenStatementVersions: st.seenStatements,
  timeFloor: st.timeFloor,
  settingsOnly: st.settingsOnly,
});

/** protocol §6: remember the highest statement version and the newest time that genuine signatures proved. */
export function observe(st: AgentState, observed: Observed): void {
  const seen = observed.statement;
  if (seen && (st.seenStatements[seen.rolloutId] ?? 0) < seen.version) st.seenStatements[seen.rolloutId] = seen.version;
  if (observed.time && (!st.timeFloor || Date.parse(observed.time) > Date.parse(st.timeFloor))) st.timeFloor = observed.time;
}
