import { AppError } from '../errors.js';
import { failureFigures, figuresSince, REPORT_STATES, type DeviceState } from '../protocol/report-rules.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import { withdrawalSummary } from '../releases/withdraw-service.js';
import type { PolicySigned } from '../protocol/trust/settings-policy.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { Census } from '../devices/census.js';
import { CANCELLED_STATE } from './cancel-update-service.js';
import { windowInWords } from './maintenance-window.js';
import { counterKey, settingCounterParts, type CounterStore } from './rollout-counters.js';
import type { RolloutDeviceStore } from './rollout-device-store.js';
import type { RolloutStore } from './rollout-store.js';
import { reachedStages } from './statements.js';

export interface StatusDeps {
  rollouts: RolloutStore;
  releases: ReleaseStore;
  counters: CounterStore;
  rolloutDevices: RolloutDeviceStore;
  census: Census;
  policy: () => PolicySigned;
  now?: () => Date;
}

const SETTING_PREFIX = 'setting:';

const rateOf = (f: { terminal: number; failures: number }) => ({ ...f, rateBasisPoints: f.terminal ? Math.floor((f.failures * 10000) / f.terminal) : 0 });
const SILENT_SAMPLE = 20;

/**
 * protocol §7 status: "eligible" is read beside "offered", so it never reads below it. The census
 * (devices/census.ts) is a periodic estimate that misses devices enrolled since its last pass, and
 * a device that installed the release no longer satisfies `appliesTo` (§5), so it leaves the
 * census count while it stays offered. Every device offered was eligible when it was offered:
 * eligible = max(census count, offered), its age in `eligibleComputedAt` (docs/protocol-notes.md).
 */
const atLeastOffered = (counted: number, offered: number): number => Math.max(counted, offered);

/**
 * GET /v1/rollouts/{id}/status: built from the incrementally maintained
 * counters (a handful of rows per rollout), never from a scan of reports.
 */
export async function rolloutStatus(id: string, deps: StatusDeps) {
  const r = await deps.rollouts.get(id);
  if (!r) throw new AppError('not_found', `no rollout ${id}`);
  // Three independent reads: on PostgreSQL they go out on pooled connections at once, so the answer
  // waits two round trips (the rollout, then these), not four (issue 20).
  const [c, release, silent] = await Promise.all([
    deps.counters.all(id),
    deps.releases.get(r.releaseId),
    // The silent sample with its last-seen times, one statement (one more per device before).
    deps.rolloutDevices.listing(id, 'silent', '', SILENT_SAMPLE),
  ]);
  const get = (k: string): number => c.get(k) ?? 0;
  const settingKeys = release ? envelopeOf(release).signed.settings.map((s) => s.key) : [];
  const policy = deps.policy();

  const counts: Record<string, number> = {};
  // `cancelled` (protocol §7 cancel-update): withdrawn by an operator, counted apart from failures.
  for (const s of [...REPORT_STATES, 'timed_out', CANCELLED_STATE]) counts[s] = get(counterKey.state(s));
  // The auto-halt figures from the counters already read (figuresOf would read them again).
  const f = failureFigures((s: DeviceState) => get(counterKey.state(s)));

  // `other: true` (value null) gathers the values past MAX_SETTING_VALUES of an integer or string setting.
  const settings: Record<string, { value: unknown; source: string; devices: number; other?: true }[]> = Object.fromEntries(settingKeys.map((k) => [k, []]));
  let consentOnByDefault = 0;
  for (const [k, n] of c) {
    if (!k.startsWith(SETTING_PREFIX) || n === 0) continue;
    const [key, valueJson, source] = settingCounterParts(k.slice(SETTING_PREFIX.length));
    const other = valueJson === '*';
    const value = other ? null : (JSON.parse(valueJson) as unknown);
    settings[key]?.push(other ? { value, source, devices: n, other } : { value, source, devices: n });
    const spec = Object.hasOwn(policy.settings, key) ? policy.settings[key] : undefined;
    if (spec?.consent && value !== spec.safeValue && source !== 'user') consentOnByDefault += n;
  }

  const census = deps.census.of(id);
  const reached = reachedStages(r);
  const stages = r.stages.map((s, j) => {
    const offered = get(counterKey.offeredAt(j));
    const reported = get(counterKey.reportedAt(j));
    // protocol §7 maintenance window, and in words when installs may next start (hawkBit users ask exactly this).
    const windowed = s.window ? { window: s.window, windowNow: windowInWords(s.window, deps.now?.() ?? new Date()) } : {};
    return { stage: j, cohort: s.cohort, basisPoints: s.basisPoints, reached: j < reached, eligible: census ? atLeastOffered(census.perStage[j] ?? 0, offered) : null, offered, reported, silent: offered - reported, ...windowed };
  });
  const offeredTotal = get(counterKey.offered);
  const silentDevices = silent.map((d) => ({
    deviceId: d.deviceId, stage: d.stage, offeredAt: toTimestamp(new Date(d.offeredAt)), lastSeen: d.lastSeen === null ? null : toTimestamp(new Date(d.lastSeen)),
  }));

  return {
    id: r.id,
    releaseId: r.releaseId,
    state: r.state,
    stage: r.currentStage,
    statementVersion: r.statementVersion,
    eligible: census ? atLeastOffered(stages.reduce((n, st) => n + (st.eligible ?? 0), 0), offeredTotal) : null,
    eligibleComputedAt: census ? toTimestamp(new Date(census.computedAt)) : null,
    offered: offeredTotal,
    reported: stages.reduce((n, s) => n + s.reported, 0),
    counts,
    failure: {
      terminal: f.terminal,
      failures: f.failures,
      rateBasisPoints: f.terminal ? Math.floor((f.failures * 10000) / f.terminal) : 0,
      maxFailureBasisPoints: r.failurePolicy.maxFailureBasisPoints,
      minTerminalReports: r.failurePolicy.minTerminalReports,
      // protocol §5: after an acknowledged resume the counts stay; auto-halt judges the reports since.
      sinceOverruled: r.overruledHalt ? rateOf(figuresSince(f, r.overruledHalt)) : null,
    },
    lastHalt: r.lastHalt,
    overruledHalt: r.overruledHalt,
    // protocol §7: a withdrawn release is offered by no rollout; its rollouts say so.
    releaseWithdrawn: withdrawalSummary(release),
    settings,
    compliance: { consentOnByDefault },
    stages,
    silentDevices,
  };
}

export type RolloutStatus = Awaited<ReturnType<typeof rolloutStatus>>;
