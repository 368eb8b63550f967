import type { SettingsMap } from '../agent/settings-store.js';
import type { SettingSource, SettingState, SettingValue } from '../../protocol/trust/settings-policy.js';
import type { LedgerEntry } from './sim-device.js';

/** How many devices hold one (value, source) of a setting, and how many of them are users who opted in. */
export interface SettingCount {
  value: SettingValue;
  source: SettingSource;
  devices: number;
  optedIn: number;
}

export type SettingCounts = Record<string, SettingCount[]>;

/** One rollout as the devices themselves saw it. */
export interface RolloutTally {
  releaseId: string;
  /** Devices that received an offer of this rollout. */
  offered: number;
  /** Latest reported state per device (the server's status `counts`). */
  counts: Record<string, number>;
  rejectedBy: Record<string, number>;
  /** value × source per setting key, from the devices' reports (the server's status `settings`). */
  settings: SettingCounts;
}

export interface FleetTally {
  devices: number;
  enrolled: number;
  enrollFailed: number;
  enrollErrors: Record<string, number>;
  optedIn: number;
  offersSeen: number;
  applied: number;
  failed: number;
  rejected: number;
  rejectedBy: Record<string, number>;
  declined: number;
  /** Devices whose latest report for a rollout is received..installing. */
  inProgress: number;
  /** Reports generated but not yet acknowledged by the server. */
  pendingReports: number;
  /** Reports the server refused for good (the agent set them aside). */
  refusedReports: number;
  rollouts: Record<string, RolloutTally>;
  /** value × source on the devices themselves at the end (all enrolled devices). */
  settings: SettingCounts;
}

/** What the tally needs from one device. */
export interface DeviceView {
  enrolled: boolean;
  enrollError?: string;
  optedIn: boolean;
  offered: Iterable<string>;
  ledger: ReadonlyMap<string, LedgerEntry>;
  pendingReports: number;
  refusedReports: number;
  /** Omitted for a quick progress tally. */
  settings?: SettingsMap;
}

const IN_PROGRESS = new Set(['received', 'downloading', 'downloaded', 'installing']);
const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

function countSetting(into: SettingCounts, key: string, s: SettingState, optedIn: boolean): void {
  const list = (into[key] ??= []);
  let row = list.find((r) => r.value === s.value && r.source === s.source);
  if (!row) list.push((row = { value: s.value, source: s.source, devices: 0, optedIn: 0 }));
  row.devices += 1;
  if (optedIn) row.optedIn += 1;
}

const sortCounts = (c: SettingCounts): SettingCounts =>
  Object.fromEntries(Object.keys(c).sort().map((k) => [k, [...(c[k] as SettingCount[])].sort((a, b) => b.devices - a.devices || String(a.value).localeCompare(String(b.value)) || a.source.localeCompare(b.source))]));

/** Pure: the fleet's own account, per rollout and in total. */
export function tallyFleet(devices: Iterable<DeviceView>): FleetTally {
  const t: FleetTally = {
    devices: 0, enrolled: 0, enrollFailed: 0, enrollErrors: {}, optedIn: 0, offersSeen: 0,
    applied: 0, failed: 0, rejected: 0, rejectedBy: {}, declined: 0, inProgress: 0,
    pendingReports: 0, refusedReports: 0, rollouts: {}, settings: {},
  };
  const rollout = (id: string): RolloutTally => (t.rollouts[id] ??= { releaseId: '', offered: 0, counts: {}, rejectedBy: {}, settings: {} });
  for (const d of devices) {
    t.devices += 1;
    if (d.enrollError !== undefined) {
      t.enrollFailed += 1;
      bump(t.enrollErrors, d.enrollError);
    }
    if (!d.enrolled) continue;
    t.enrolled += 1;
    if (d.optedIn) t.optedIn += 1;
    t.pendingReports += d.pendingReports;
    t.refusedReports += d.refusedReports;
    const offered = new Set(d.offered);
    for (const id of d.ledger.keys()) offered.add(id);
    t.offersSeen += offered.size;
    for (const id of offered) rollout(id).offered += 1;
    for (const [id, e] of d.ledger) {
      const r = rollout(id);
      r.releaseId ||= e.releaseId;
      bump(r.counts, e.state);
      if (e.state === 'applied') t.applied += 1;
      else if (e.state === 'failed') t.failed += 1;
      else if (e.state === 'declined') t.declined += 1;
      else if (IN_PROGRESS.has(e.state)) t.inProgress += 1;
      else if (e.state === 'rejected') {
        t.rejected += 1;
        bump(r.rejectedBy, e.code ?? 'unknown');
        bump(t.rejectedBy, e.code ?? 'unknown');
      }
      for (const [key, s] of Object.entries(e.settings)) countSetting(r.settings, key, s, d.optedIn);
    }
    for (const [key, s] of Object.entries(d.settings ?? {})) countSetting(t.settings, key, s, d.optedIn);
  }
  for (const r of Object.values(t.rollouts)) r.settings = sortCounts(r.settings);
  t.settings = sortCounts(t.settings);
  return t;
}
