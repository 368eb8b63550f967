import { canonicalJson } from '../protocol/crypto/canonical.js';
import type { BatchWriter, GroupCommit, Outcome } from '../db/group-commit.js';
import semver from 'semver';
import { decidedByMembership } from '../cohorts/membership.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import { nativeSha256 } from '../protocol/crypto/native-hash.js';
import type { Device, DeviceStore } from '../devices/device-store.js';
import { bucketOf } from '../protocol/bucket.js';
import { eligibleStage } from '../rollouts/eligibility.js';
import type { LiveRollouts } from '../rollouts/live-rollouts.js';
import { AppError, isAppError } from '../errors.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import { counterKey, MAX_SETTING_VALUES, type CounterStore } from '../rollouts/rollout-counters.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import type { TimelineStore } from '../rollouts/rollout-timeline.js';
import { isNonTerminal, refuseTransition, type DeviceState, type Report } from '../protocol/report-rules.js';
import type { ReportStore } from './report-store.js';
import { readGroup, type Draft, type IngestItem, type PreparedReport } from './report-group.js';
import { valueHasType, type PolicySigned, type SettingSpec } from '../protocol/trust/settings-policy.js';

export interface IngestDeps {
  devices: DeviceStore;
  reports: ReportStore;
  rollouts: RolloutStore;
  releases: ReleaseStore;
  rolloutDevices: RolloutDeviceStore;
  counters: CounterStore;
  /** Per-second failure figures for the dashboard's chart, moved with the counters. */
  timeline: TimelineStore;
  live: LiveRollouts;
  cohorts: CohortStore;
  /** Shared group commit; it flushes the poll write-behind first, so a report always finds its offer. */
  commits: GroupCommit;
  now: () => Date;
  /** The settings policy in force: reported values must have their setting's type. */
  policy: () => PolicySigned;
  /** Called after each commit with the rollouts whose counters moved (auto-halt runs there). */
  onCommitted?: (rolloutIds: ReadonlySet<string>) => void | Promise<void>;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
}

type SettingsMap = NonNullable<Report['settings']>;

/** protocol §11 (DDI feedback): see IngestItem. */
export type SubmitOptions = Pick<IngestItem, 'assignSeq' | 'alongside'>;

const ANY_VERSION = new semver.Range('*', { includePrerelease: true });

export type IngestService = ReturnType<typeof createIngestService>;

/**
 * Report ingestion, group-committed (db/group-commit.ts): a batch is applied
 * whole or refused whole, and its promise settles only once it is on disk.
 */
export function createIngestService(deps: IngestDeps) {
  // The promise is kept, so a burst of first reports for a release reads it once, not once per request.
  const settingKeysOf = new Map<string, Promise<ReadonlySet<string>>>();
  const releaseSettingKeys = (releaseId: string): Promise<ReadonlySet<string>> => {
    let keys = settingKeysOf.get(releaseId);
    if (!keys) {
      keys = deps.releases.get(releaseId).then((stored) => new Set(stored ? envelopeOf(stored).signed.settings.map((s) => s.key) : []));
      settingKeysOf.set(releaseId, keys);
      // A failed read is not remembered: the next report reads again.
      keys.catch(() => settingKeysOf.delete(releaseId));
    }
    return keys;
  };

  const specOf = (key: string): SettingSpec | undefined => {
    const settings = deps.policy().settings;
    return Object.hasOwn(settings, key) ? settings[key] : undefined;
  };

  /**
   * Before joining the group: canonical bytes, and the settings cut to the
   * keys the release changes (the only ones status counts and the device's
   * merged settings keep), each of the policy's type. A refusal here
   * refuses this batch only.
   */
  const prepare = async (batch: Report[]): Promise<PreparedReport[]> => {
    const prepared: PreparedReport[] = [];
    for (const [i, report] of batch.entries()) {
      if (!report.settings) {
        prepared.push({ report, body: canonicalJson(report) });
        continue;
      }
      const tracked = await releaseSettingKeys(report.releaseId);
      const settings: SettingsMap = {};
      for (const [key, reported] of Object.entries(report.settings)) {
        // Every setting the policy declares must have its type, whether or not this release changes it.
        const spec = specOf(key);
        if (spec && !valueHasType(spec, reported.value)) {
          throw new AppError('validation_failed', `report ${i} refused, so is its batch: setting ${key} is not a valid ${spec.type}`, {
            details: [{ path: `/${i}/settings/${key}/value`, message: `not a valid ${spec.type}` }],
          });
        }
        if (tracked.has(key)) settings[key] = reported;
      }
      // The stored body stays what the device sent (evidence, and the same bytes a retry is compared
      // with); what the server derives from it (merged settings, counters) holds only the trimmed part.
      prepared.push({ report: { ...report, settings }, body: canonicalJson(report) });
    }
    return prepared;
  };

  const provenStage = async (rolloutId: string, device: Device): Promise<number> => {
    const live = deps.live.current().find((l) => l.id === rolloutId);
    if (!live) return -1;
    const bucket = bucketOf(live.salt, device.id, nativeSha256);
    return decidedByMembership(deps.cohorts, device, (inCohort) => eligibleStage({ ...live, appliesTo: ANY_VERSION }, device, bucket, inCohort));
  };

  /**
   * The counter a (value, source) pair is counted under. Unbounded types
   * (integer, string) get their own counter only while the key has fewer
   * than MAX_SETTING_VALUES; later values share the "other values" counter.
   * Counters are never deleted, so a pair maps to the same counter for ever
   * and a device's earlier count is always taken back from where it went.
   */
  const counterFor = (draft: Draft, rolloutId: string, key: string, value: unknown, source: string): string => {
    const own = counterKey.setting(key, value, source);
    const type = specOf(key)?.type;
    if (type === 'boolean' || type === 'enum') return own;
    if (draft.hasCounter(rolloutId, own) || draft.settingCounters(rolloutId, key) < MAX_SETTING_VALUES) return own;
    return counterKey.settingOther(key, source);
  };

  const countSettings = (draft: Draft, rolloutId: string, before: SettingsMap, after: SettingsMap): void => {
    for (const [key, now] of Object.entries(after)) {
      const was = Object.hasOwn(before, key) ? before[key] : undefined;
      if (was && was.value === now.value && was.source === now.source) continue;
      if (was) draft.count(rolloutId, counterFor(draft, rolloutId, key, was.value, was.source), -1);
      draft.count(rolloutId, counterFor(draft, rolloutId, key, now.value, now.source), 1);
    }
  };

  /** One report, on the group's staged rows; throws an AppError that refuses the whole batch. Returns false for a duplicate. */
  const applyOne = async (draft: Draft, device: Device, { report: r, body }: PreparedReport, lastSeq: number, now: number): Promise<boolean> => {
    const deviceId = device.id;
    const stored = draft.bodyOf(deviceId, r.seq);
    if (stored !== undefined) {
      if (stored === body) return false;
      throw new AppError('seq_conflict', `seq ${r.seq} was already reported with a different body`);
    }
    if (r.seq <= lastSeq) throw new AppError('seq_conflict', `seq ${r.seq} is out of order: the last seq stored is ${lastSeq}`);
    const rollout = draft.rollout(r.rolloutId);
    if (!rollout) throw new AppError('unprocessable', `no rollout ${r.rolloutId}`);
    if (rollout.releaseId !== r.releaseId) throw new AppError('unprocessable', `rollout ${r.rolloutId} ships ${rollout.releaseId}, not ${r.releaseId}`);
    if (rollout.state === 'draft') throw new AppError('unprocessable', `rollout ${r.rolloutId} has not started`);
    let rd = draft.rolloutDevice(r.rolloutId, deviceId);
    if (!rd) {
      // The offer record may have been lost with the last moments of a crash: accept the report only
      // if the rollout would offer this device its release, so no device can vote in a rollout that
      // never reached it. The installed version is not checked: it may be the one just installed.
      const stage = await provenStage(r.rolloutId, device);
      if (stage < 0) throw new AppError('unprocessable', `rollout ${r.rolloutId} never offered its release to this device`);
      draft.count(r.rolloutId, counterKey.offered, 1);
      draft.count(r.rolloutId, counterKey.offeredAt(stage), 1);
      rd = { rolloutId: r.rolloutId, deviceId, stage, offeredAt: now, state: null, stateAt: null, settings: null };
    }
    const from = rd.state as DeviceState | null;
    const why = refuseTransition(from, r.state);
    if (why) throw new AppError('invalid_transition', `seq ${r.seq}: ${why}`);
    draft.insertReport({ deviceId, seq: r.seq, rolloutId: r.rolloutId, releaseId: r.releaseId, state: r.state, at: r.at, body, receivedAt: now });
    if (from !== r.state) {
      if (from !== null) draft.count(r.rolloutId, counterKey.state(from), -1);
      draft.count(r.rolloutId, counterKey.state(r.state), 1);
      draft.moved(r.rolloutId, from, r.state, now);
    }
    if (from === null) draft.count(r.rolloutId, counterKey.reportedAt(rd.stage), 1);
    let settings = rd.settings;
    if (r.settings) {
      const before = rd.settings ? (JSON.parse(rd.settings) as SettingsMap) : {};
      countSettings(draft, r.rolloutId, before, r.settings);
      settings = JSON.stringify({ ...before, ...r.settings });
    }
    // protocol §5 timed_out: the clock runs from the first progress report of an attempt; more
    // progress (or the same state again) does not restart it, so a chatty device still times out.
    const stateAt = isNonTerminal(from) && isNonTerminal(r.state) && rd.stateAt !== null ? rd.stateAt : now;
    draft.setRolloutDevice({ ...rd, state: r.state, stateAt, settings });
    return true;
  };

  const applyBatch = async (draft: Draft, { device, prepared: given, now, assignSeq }: IngestItem): Promise<IngestResult> => {
    const deviceId = device.id;
    // Read inside the transaction: an earlier request of this device in the same group moved it.
    const storedSeq = draft.lastSeqOf(deviceId);
    if (storedSeq === undefined) throw new AppError('not_found', `no device ${deviceId}`);
    // A gateway's report takes the next seq here, so two of one device in one group never collide.
    const batch = assignSeq
      ? given.map((p, i) => {
          const seq = storedSeq + 1 + i;
          const { seq: _unused, ...rest } = JSON.parse(p.body) as Report;
          return { report: { ...p.report, seq }, body: canonicalJson({ ...rest, seq }) };
        })
      : given;
    let lastSeq = storedSeq;
    let accepted = 0;
    let duplicates = 0;
    for (const [i, r] of batch.entries()) {
      try {
        if (await applyOne(draft, device, r, lastSeq, now)) {
          accepted++;
          lastSeq = Math.max(lastSeq, r.report.seq);
        } else duplicates++;
      } catch (e) {
        if (!isAppError(e)) throw e;
        throw new AppError(e.code, `report ${i} refused, so is its batch: ${e.message}`, { details: [{ path: `/${i}`, code: e.code, message: e.message }] });
      }
    }
    if (lastSeq !== storedSeq) draft.setLastSeq(deviceId, lastSeq);
    return { accepted, duplicates, lastSeq };
  };

  // Rollouts whose halt figures moved since the last commit: auto-halt looks at them after it.
  let touched = new Set<string>();
  deps.commits.onCommit(async () => {
    const ids = touched;
    touched = new Set();
    if (ids.size) await deps.onCommitted?.(ids);
  });

  /**
   * Edges' own records of a group's accepted requests (a DDI action's state), in its transaction
   * (durable together). Different devices' start together, so on PostgreSQL their statements are
   * pipelined instead of a few round trips per request; one device's run in its requests' order
   * (two feedbacks on one action land as sent). All settle before the transaction ends: none may
   * send a statement after its rollback. The error thrown is a cause, not PostgreSQL's "current
   * transaction is aborted" that the others' statements get after it.
   */
  const alongsideAll = async (accepted: readonly IngestItem[]): Promise<void> => {
    const last = new Map<string, Promise<void>>();
    const records: Promise<void>[] = [];
    for (const item of accepted) {
      const record = item.alongside;
      if (!record) continue;
      const before = last.get(item.device.id);
      // Each promise settles with its own record's outcome (after the device's one before it, whatever that did).
      const started = before ? before.then(record, record) : Promise.resolve().then(record);
      last.set(item.device.id, started);
      records.push(started);
    }
    const settled = await Promise.allSettled(records);
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length) throw failures.find((e) => (e as { code?: unknown } | null)?.code !== '25P02') ?? failures[0];
  };

  /**
   * A group's reports, set-based (issue 20): what every request of the
   * group needs is read with one statement per table, each request is
   * judged in memory on those rows (seeing what earlier requests of the
   * group staged), and what the accepted ones changed is written with one
   * statement per table — a fixed few statements per group, whatever its
   * size. A refused request stages nothing, so it needs no savepoint.
   */
  const writer: BatchWriter<IngestItem, IngestResult> = {
    async many(items) {
      const group = await readGroup(deps, items);
      const outcomes: Outcome<IngestResult>[] = [];
      for (const item of items) {
        const draft = group.draft();
        try {
          const value = await applyBatch(draft, item);
          draft.keep();
          outcomes.push({ ok: true, value });
        } catch (e) {
          // Anything but a refusal is a bug or the engine: the group is written again, each request alone.
          if (!isAppError(e)) throw e;
          outcomes.push({ ok: false, error: e });
        }
      }
      await group.write();
      await alongsideAll(items.filter((item, i) => outcomes[i]?.ok));
      for (const id of group.haltFiguresMoved()) touched.add(id);
      return outcomes;
    },
    async one(item) {
      const [outcome] = await writer.many([item]);
      if (!outcome?.ok) throw outcome?.error;
      return outcome.value;
    },
  };

  return {
    /** `device` as authenticated (its model and attributes); its last seq is re-read in the transaction. */
    async submit(device: Device, batch: Report[], opts: SubmitOptions = {}): Promise<IngestResult> {
      const now = deps.now().getTime();
      const prepared = await prepare(batch);
      return deps.commits.runBatched(writer, { device, prepared, now, ...opts });
    },
  };
}
