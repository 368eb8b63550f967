import { DEVICE_ID_RE, SLUG_RE } from '../http/params.js';
import type { HaltRecord } from '../rollouts/rollout.js';
import type { SettingSource, SettingValue } from '../trust/settings-policy.js';
import { QaError } from './qa-source.js';

/** GET /v1/rollouts/{id}, the fields QA relies on (protocol §5, plus the served statements). */
export interface RolloutView {
  id: string;
  releaseId: string;
  salt: string;
  stages: { cohort: string; basisPoints: number }[];
  state: string;
  currentStage: number;
  statements: unknown[];
  /** Why it halted (shown, not relied on: the audit chain is what QA checks). */
  lastHalt?: HaltRecord | null;
}

/** One row of GET /v1/rollouts/{id}/devices. */
export interface DeviceRow {
  deviceId: string;
  stage: number;
  state: string;
  settings: Record<string, { value: SettingValue; source: SettingSource }> | null;
}

export interface SettingTally {
  value: SettingValue;
  source: string;
  devices: number;
}

/** GET /v1/rollouts/{id}/status, the fields QA compares. */
export interface StatusView {
  state: string;
  offered: number;
  counts: Record<string, number>;
  settings: Record<string, SettingTally[]>;
}

const SALT = /^[0-9a-f]{32}$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isSettingValue = (v: unknown): v is SettingValue => typeof v === 'boolean' || typeof v === 'string' || Number.isSafeInteger(v);

function refuse(what: string, problems: string[]): never {
  throw new QaError(`${what} is not what protocol §5/§7 describes: ${problems.join('; ')}`);
}

export function parseRolloutView(v: unknown): RolloutView {
  const problems: string[] = [];
  if (!isObject(v)) refuse('the rollout', ['not an object']);
  if (typeof v.id !== 'string' || !SLUG_RE.test(v.id)) problems.push('id is not a rollout id');
  if (typeof v.releaseId !== 'string' || !SLUG_RE.test(v.releaseId)) problems.push('releaseId is not a release id');
  if (typeof v.salt !== 'string' || !SALT.test(v.salt)) problems.push('salt is not 32 lower-case hex characters');
  if (typeof v.state !== 'string') problems.push('state is missing');
  if (!isCount(v.currentStage)) problems.push('currentStage is not a stage index');
  const stages = Array.isArray(v.stages) ? v.stages : [];
  if (!Array.isArray(v.stages) || stages.length === 0) problems.push('stages is not a non-empty array');
  stages.forEach((s, i) => {
    if (!isObject(s) || typeof s.cohort !== 'string' || !isCount(s.basisPoints) || s.basisPoints > 10000) problems.push(`stages[${i}] needs a cohort and basisPoints 0..10000`);
  });
  if (!Array.isArray(v.statements)) problems.push('statements is not an array (signed statement envelopes per reached stage)');
  if (problems.length) refuse('the rollout', problems);
  return v as unknown as RolloutView;
}

export function parseDeviceRow(v: unknown): DeviceRow {
  const problems: string[] = [];
  if (!isObject(v)) refuse('a device row', ['not an object']);
  if (typeof v.deviceId !== 'string' || !DEVICE_ID_RE.test(v.deviceId)) problems.push('deviceId is not a device id');
  if (!isCount(v.stage)) problems.push('stage is not a stage index');
  if (typeof v.state !== 'string') problems.push('state is missing');
  if (v.settings !== null && v.settings !== undefined) {
    if (!isObject(v.settings)) problems.push('settings is not an object');
    else for (const [k, s] of Object.entries(v.settings)) {
      if (!isObject(s) || !isSettingValue(s.value) || (s.source !== 'default' && s.source !== 'user')) problems.push(`settings.${k} is not { value, source }`);
    }
  }
  if (problems.length) refuse(`device row ${String(v.deviceId)}`, problems);
  return { deviceId: v.deviceId as string, stage: v.stage as number, state: v.state as string, settings: (v.settings ?? null) as DeviceRow['settings'] };
}

export function parseStatusView(v: unknown): StatusView {
  const problems: string[] = [];
  if (!isObject(v)) refuse('the rollout status', ['not an object']);
  if (!isCount(v.offered)) problems.push('offered is not a count');
  if (!isObject(v.counts) || !Object.values(v.counts).every(isCount)) problems.push('counts is not a map of counts');
  if (!isObject(v.settings)) problems.push('settings is not a map of setting keys');
  else for (const [k, rows] of Object.entries(v.settings)) {
    if (!Array.isArray(rows) || !rows.every((r) => isObject(r) && isSettingValue(r.value) && typeof r.source === 'string' && isCount(r.devices))) {
      problems.push(`settings.${k} is not a list of { value, source, devices }`);
    }
  }
  if (problems.length) refuse('the rollout status', problems);
  return v as unknown as StatusView;
}
