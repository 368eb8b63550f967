import { canonicalJson } from '../crypto/canonical.js';
import type { GroupCommit } from '../db/group-commit.js';
import semver from 'semver';
import { membershipOf } from '../cohorts/membership.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import { nativeSha256 } from '../crypto/native-hash.js';
import type { Device, DeviceStore } from '../devices/device-store.js';
import { bucketOf } from '../rollouts/bucket.js';
import { eligibleStage } from '../rollouts/eligibility.js';
import type { LiveRollouts } from '../rollouts/live-rollouts.js';
import { AppError, isAppError } from '../errors.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import { counterKey, type CounterStore } from '../rollouts/rollout-counters.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import type { TimelineStore } from '../rollouts/rollout-timeline.js';
import { isNonTerminal, refuseTransition, type DeviceState, type Report } from './report-rules.js';
import type { ReportStore } from './report-store.js';

export interface IngestDeps {
  devices: DeviceStore;
  reports: ReportStore;
  rollouts: RolloutStore;
  releases: ReleaseStore;
  rolloutDevices: RolloutDeviceStore;
  counters: CounterStore;
  /** Per-minute failure figures for the dashboard's chart, moved with the counters. */
  timeline: TimelineStore;
  live: LiveRollouts;
  cohorts: CohortStore;
  /** Shared group commit; it flushes the poll write-behind first, so a report always finds its offer. */
  commits: GroupCommit;
  now: () => Date;
  /** Called after each commit with the rollouts whose counters moved (auto-halt runs there). */
  onCommitted?: (rolloutIds: ReadonlySet<string>) => void;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
}

type SettingsMap = NonNullable<Report['settings']>;

const ANY_VERSION = new semver.Range('*', { includePrerelease: true });

export type IngestService = ReturnType<typeof createIngestService>;

/**
 * Report ingestion, group-committed (db/group-commit.ts): a batch is applied
 * whole or refused whole, and its promise settles only once it is on disk.
 */
export function createIngestService(deps: IngestDeps) {
  const { reports, rollouts, rolloutDevices, counters } = deps;
  const settingKeysOf = new Map<string, ReadonlySet<string>>();

  const releaseSettingKeys = (releaseId: string): ReadonlySet<string> => {
    let keys = settingKeysOf.get(releaseId);
    if (!keys) {
      const stored = deps.releases.get(releaseId);
      keys = new Set(stored ? envelopeOf(stored).signed.settings.map((s) => s.key) : []);
      settingKeysOf.set(releaseId, keys);
    }
    return keys;
  };

  const countSettings = (rolloutId: string, releaseId: string, before: SettingsMap, after: SettingsMap): void => {
    const tracked = releaseSettingKeys(releaseId);
    for (const [key, now] of Object.entries(after)) {
      if (!tracked.has(key)) continue;
      const was = Object.hasOwn(before, key) ? before[key] : undefined;
      if (was && was.value === now.value && was.source === now.source) continue;
      if (was) counters.add(rolloutId, counterKey.setting(key, was.value, was.source), -1);
      counters.add(rolloutId, counterKey.setting(key, now.value, now.source), 1);
    }
  };

  /** One report; throws an AppError that refuses the whole batch. Returns false for a duplicate. */
  const provenStage = (rolloutId: string, device: Device): number => {
    const live = deps.live.current().find((l) => l.id === rolloutId);
    if (!live) return -1;
    return eligibleStage({ ...live, appliesTo: ANY_VERSION }, device, bucketOf(live.salt, device.id, nativeSha256), membershipOf(deps.cohorts, device));
  };

  const applyOne = (device: Device, r: Report, lastSeq: number, now: number, touched: Set<string>): boolean => {
    const deviceId = device.id;
    const body = canonicalJson(r);
    const stored = reports.bodyOf(deviceId, r.seq);
    if (stored !== undefined) {
      if (stored === body) return false;
      throw new AppError('seq_conflict', `seq ${r.seq} was already reported with a different body`);
    }
    if (r.seq <= lastSeq) throw new AppError('seq_conflict', `seq ${r.seq} is out of order: the last seq stored is ${lastSeq}`);
    const rollout = rollouts.summary(r.rolloutId);
    if (!rollout) throw new AppError('unprocessable', `no rollout ${r.rolloutId}`);
    if (rollout.releaseId !== r.releaseId) throw new AppError('unprocessable', `rollout ${r.rolloutId} ships ${rollout.releaseId}, not ${r.releaseId}`);
    if (rollout.state === 'draft') throw new AppError('unprocessable', `rollout ${r.rolloutId} has not started`);
    let rd = rolloutDevices.get(r.rolloutId, deviceId);
    if (!rd) {
      // The offer record may have been lost with the last moments of a crash: accept the report only
      // if the rollout would offer this device its release, so no device can vote in a rollout that
      // never reached it. The installed version is not checked: it may be the one just installed.
      const stage = provenStage(r.rolloutId, device);
      if (stage < 0) throw new AppError('unprocessable', `rollout ${r.rolloutId} never offered its release to this device`);
      rolloutDevices.offer(r.rolloutId, deviceId, stage, now);
      counters.add(r.rolloutId, counterKey.offered, 1);
      counters.add(r.rolloutId, counterKey.offeredAt(stage), 1);
      rd = { rolloutId: r.rolloutId, deviceId, stage, offeredAt: now, state: null, stateAt: null, settings: null };
    }
    const from = rd.state as DeviceState | null;
    const why = refuseTransition(from, r.state);
    if (why) throw new AppError('invalid_transition', `seq ${r.seq}: ${why}`);
    reports.insert({ deviceId, seq: r.seq, rolloutId: r.rolloutId, releaseId: r.releaseId, state: r.state, at: r.at, body, receivedAt: now });
    if (from !== r.state) {
      if (from !== null) counters.add(r.rolloutId, counterKey.state(from), -1);
      counters.add(r.rolloutId, counterKey.state(r.state), 1);
      deps.timeline.moved(r.rolloutId, from, r.state, now);
    }
    if (from === null) counters.add(r.rolloutId, counterKey.reportedAt(rd.stage), 1);
    let settings = rd.settings;
    if (r.settings) {
      const before = rd.settings ? (JSON.parse(rd.settings) as SettingsMap) : {};
      countSettings(r.rolloutId, r.releaseId, before, r.settings);
      settings = JSON.stringify({ ...before, ...r.settings });
    }
    // protocol §5 timed_out: the clock runs from the first progress report of an attempt; more
    // progress (or the same state again) does not restart it, so a chatty device still times out.
    const stateAt = isNonTerminal(from) && isNonTerminal(r.state) && rd.stateAt !== null ? rd.stateAt : now;
    rolloutDevices.setState({ rolloutId: r.rolloutId, deviceId, state: r.state, stateAt, settings });
    touched.add(r.rolloutId);
    return true;
  };

  const applyBatch = (device: Device, batch: Report[], now: number, touched: Set<string>): IngestResult => {
    const deviceId = device.id;
    // Read inside the transaction: an earlier request of this device in the same group moved it.
    const storedSeq = deps.devices.lastSeqOf(deviceId);
    if (storedSeq === undefined) throw new AppError('not_found', `no device ${deviceId}`);
    let lastSeq = storedSeq;
    let accepted = 0;
    let duplicates = 0;
    batch.forEach((r, i) => {
      try {
        if (applyOne(device, r, lastSeq, now, touched)) {
          accepted++;
          lastSeq = Math.max(lastSeq, r.seq);
        } else duplicates++;
      } catch (e) {
        if (!isAppError(e)) throw e;
        throw new AppError(e.code, `report ${i} refused, so is its batch: ${e.message}`, { details: [{ path: `/${i}`, code: e.code, message: e.message }] });
      }
    });
    if (lastSeq !== storedSeq) deps.devices.setLastSeq(deviceId, lastSeq);
    return { accepted, duplicates, lastSeq };
  };

  // Rollouts whose counters moved since the last commit: auto-halt looks at them after it.
  let touched = new Set<string>();
  deps.commits.onCommit(() => {
    const ids = touched;
    touched = new Set();
    if (ids.size) deps.onCommitted?.(ids);
  });

  return {
    /** `device` as authenticated (its model and attributes); its last seq is re-read in the transaction. */
    submit(device: Device, batch: Report[]): Promise<IngestResult> {
      const now = deps.now().getTime();
      const moved = new Set<string>();
      return deps.commits.run(() => {
        const result = applyBatch(device, batch, now, moved);
        for (const id of moved) touched.add(id);
        return result;
      });
    },
  };
}
