import { pick } from '../fleet/fleet-random.js';
import { bucketOf } from '../../protocol/bucket.js';
import type { RolloutStatementSigned } from '../../protocol/rollout-statement.js';
import type { PolicySigned, SettingValue } from '../../protocol/trust/settings-policy.js';
import { pass, skip, verdictOf, type Check } from './qa-check.js';
import type { DeviceRow, SettingTally, StatusView } from './server-views.js';
import { formatPercent, stageWords } from '../cli/rollout-spec.js';

/** protocol §3 P2: a consent setting other than its safe value is only ever the user's own choice. */
export function consentBreach(policy: PolicySigned, key: string, value: SettingValue, source: string): string | undefined {
  const spec = Object.hasOwn(policy.settings, key) ? policy.settings[key] : undefined;
  if (!spec?.consent || value === spec.safeValue || source === 'user') return undefined;
  return `${key} = ${JSON.stringify(value)} with source ${source} (consent setting, safe value ${JSON.stringify(spec.safeValue)})`;
}

const settingKey = (value: SettingValue, source: string): string => `${JSON.stringify(value)}\u0000${source}`;

/**
 * One pass over GET /v1/rollouts/{id}/devices: a seeded reservoir sample for
 * the eligibility recomputation, and, over every device listed, consent
 * breaches and the recount the status counters must equal.
 */
export class DeviceSurvey {
  listed = 0;
  readonly sample: DeviceRow[] = [];
  readonly states: Record<string, number> = {};
  /** key → "value\0source" → devices, for the release's setting keys. */
  readonly settings = new Map<string, Map<string, number>>();
  readonly breaches: string[] = [];

  constructor(
    private readonly sampleSize: number,
    private readonly seed: string,
    private readonly releaseKeys: ReadonlySet<string>,
    private readonly policy: PolicySigned | undefined,
  ) {}

  add(row: DeviceRow): void {
    const i = this.listed++;
    if (this.sampleSize === 0 || this.sample.length < this.sampleSize) this.sample.push(row);
    else {
      const j = pick(i + 1, this.seed, 'sample', i);
      if (j < this.sampleSize) this.sample[j] = row;
    }
    this.states[row.state] = (this.states[row.state] ?? 0) + 1;
    for (const [key, s] of Object.entries(row.settings ?? {})) {
      if (this.releaseKeys.has(key)) {
        const m = this.settings.get(key) ?? new Map<string, number>();
        m.set(settingKey(s.value, s.source), (m.get(settingKey(s.value, s.source)) ?? 0) + 1);
        this.settings.set(key, m);
      }
      const breach = this.policy && consentBreach(this.policy, key, s.value, s.source);
      if (breach) this.breaches.push(`${row.deviceId}: ${breach}`);
    }
  }
}

/**
 * protocol §5/§6 recomputed locally: a device recorded at stage j must pass
 * the bucket test of stage j's signed statement, bucket(salt, id) < basisPoints.
 */
export function checkEligibility(survey: DeviceSurvey, byStage: ReadonlyMap<number, RolloutStatementSigned>): Check {
  const n = survey.sample.length;
  if (n === 0) return skip('device-eligibility', 'no device has been offered this rollout yet');
  const problems: string[] = [];
  for (const d of survey.sample) {
    const s = byStage.get(d.stage);
    if (!s) {
      problems.push(`${d.deviceId}: recorded at ${stageWords(d.stage)}, which has no valid signed statement`);
      continue;
    }
    const bucket = bucketOf(s.salt, d.deviceId);
    if (bucket >= s.basisPoints) problems.push(`${d.deviceId}: recorded at ${stageWords(d.stage)}, but bucket ${bucket} is not below its ${s.basisPoints} basis points (${formatPercent(s.basisPoints)})`);
  }
  return verdictOf('device-eligibility', problems,
    `${n} sampled device${n === 1 ? '' : 's'} (of ${survey.listed} offered) pass the bucket test of the stage they are recorded at`,
    `${problems.length} of ${n} sampled devices are recorded at a stage whose signed bucket test they fail: eligibility rule changed behind the server's back`);
}

/** Settings compliance of every device listed (their latest reported settings). */
export function checkDeviceSettings(survey: DeviceSurvey, policy: PolicySigned | undefined): Check {
  if (!policy) return skip('settings-devices', 'no verified settings policy');
  return verdictOf('settings-devices', survey.breaches,
    `no consent setting is on by default on any of the ${survey.listed} devices listed`,
    `${survey.breaches.length} device report${survey.breaches.length === 1 ? '' : 's'} show a consent setting on without the user's choice`);
}

/** Settings compliance as the status reports it: per key, devices per (value, source). */
export function checkStatusSettings(status: StatusView, policy: PolicySigned | undefined): Check {
  if (!policy) return skip('settings-status', 'no verified settings policy');
  const problems: string[] = [];
  for (const [key, rows] of Object.entries(status.settings)) {
    for (const r of rows) {
      // An `other` row (value null) lumps the values past the counted ones of an integer or string setting: nothing to judge.
      const breach = r.devices > 0 && r.value !== null ? consentBreach(policy, key, r.value, r.source) : undefined;
      if (breach) problems.push(`${r.devices} device${r.devices === 1 ? '' : 's'}: ${breach}`);
    }
  }
  const keys = Object.keys(status.settings);
  return verdictOf('settings-status', problems,
    `status settings (${keys.join(', ') || 'none'}): no consent setting on unless the user chose it`,
    'the rollout status shows a consent setting on by default (protocol §3 P2)');
}

const tallyOf = (rows: readonly SettingTally[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rows) if (r.devices > 0 && r.value !== null) m.set(settingKey(r.value, r.source), (m.get(settingKey(r.value, r.source)) ?? 0) + r.devices);
  return m;
};

/** Devices per source: what still compares when the status lumped some values into an `other` row (rollout-counters.ts MAX_SETTING_VALUES). */
const perSource = (tally: ReadonlyMap<string, number>): Map<string, number> => {
  const m = new Map<string, number>();
  for (const [k, n] of tally) m.set(k.slice(k.indexOf('\u0000') + 1), (m.get(k.slice(k.indexOf('\u0000') + 1)) ?? 0) + n);
  return m;
};

const otherPerSource = (rows: readonly SettingTally[]): Map<string, number> => {
  const m = perSource(tallyOf(rows));
  for (const r of rows) if (r.other) m.set(r.source, (m.get(r.source) ?? 0) + r.devices);
  return m;
};

const describeKey = (k: string): string => k.replace('\u0000', '/');

/**
 * The status counters against a recount of the device list. Only meaningful
 * when the status did not move while the list was read (`stable`).
 */
export function checkStatusMatchesDevices(survey: DeviceSurvey, status: StatusView, stable: boolean): Check {
  if (!stable) return skip('status-consistency', 'the rollout changed while its devices were listed; counters not compared (run again when it is quiet)');
  const problems: string[] = [];
  if (status.offered !== survey.listed) problems.push(`status says ${status.offered} devices offered, the device list has ${survey.listed}`);
  const states = new Set([...Object.keys(status.counts), ...Object.keys(survey.states)].filter((s) => s !== 'silent'));
  for (const s of states) {
    const a = status.counts[s] ?? 0;
    const b = survey.states[s] ?? 0;
    if (a !== b) problems.push(`state ${s}: status counts ${a}, the device list has ${b}`);
  }
  for (const key of new Set([...Object.keys(status.settings), ...survey.settings.keys()])) {
    const rows = status.settings[key] ?? [];
    const lumped = rows.some((r) => r.other === true);
    const a = lumped ? otherPerSource(rows) : tallyOf(rows);
    const b = lumped ? perSource(survey.settings.get(key) ?? new Map<string, number>()) : (survey.settings.get(key) ?? new Map<string, number>());
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      if ((a.get(k) ?? 0) !== (b.get(k) ?? 0)) problems.push(`${key} ${describeKey(k)}: status counts ${a.get(k) ?? 0}, the device list has ${b.get(k) ?? 0}`);
    }
  }
  return problems.length === 0
    ? pass('status-consistency', `status counters (offered ${status.offered}, states, settings) equal a recount of the ${survey.listed} devices listed`)
    : verdictOf('status-consistency', problems, '', "the status counters disagree with the rollout's own device list");
}
