import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DeviceStore } from '../devices/device-store.js';
import type { ActivityBuffer } from '../devices/activity-buffer.js';
import { failureFigures, REPORT_STATES, type DeviceState } from '../protocol/report-rules.js';
import type { Census } from '../devices/census.js';
import type { LiveRollouts } from '../rollouts/live-rollouts.js';
import { counterKey, type CounterStore } from '../rollouts/rollout-counters.js';
import { isAutomatic, type RolloutEvents } from '../rollouts/rollout-events.js';
import { ROLLOUT_STATES } from '../rollouts/rollout-state.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import { toTimestamp } from '../protocol/trust/time.js';

export interface FleetMetricDeps {
  rollouts: RolloutStore;
  counters: CounterStore;
  live: LiveRollouts;
  census: Census;
  devices: DeviceStore;
  activity: ActivityBuffer;
  events: RolloutEvents;
  now: () => Date;
}

/** A cancelled rollout keeps its series this long, so a scrape sees how it ended. */
const CANCELLED_KEPT_MS = 24 * 3600 * 1000;
const DEVICE_STATES = [...REPORT_STATES, 'timed_out'] as const;

export type FleetMetrics = ReturnType<typeof registerFleetMetrics>;

/**
 * What the fleet does, as Prometheus families (the table in
 * docs/operations.md says where each figure comes from). Gauges are computed
 * when scraped (collect callbacks) from the live view, the census and the
 * per-rollout counters that ingestion already keeps: the poll and report
 * paths do no extra work for them. Labels are bounded: `rollout` (rollouts
 * are few; cancelled ones drop out after a day), `state`, `action`, `by` —
 * never a device id.
 */
export function registerFleetMetrics(registry: Registry, deps: FleetMetricDeps) {
  const registers = [registry];
  const watched = () => deps.rollouts.watched(toTimestamp(new Date(deps.now().getTime() - CANCELLED_KEPT_MS)));

  new Gauge({
    name: 'ota_rollouts',
    help: 'Rollouts by state (all rollouts ever created)',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const rows = await deps.rollouts.countByState();
      this.reset();
      for (const s of ROLLOUT_STATES) this.set({ state: s }, 0);
      for (const row of rows) this.set({ state: row.state }, row.n);
    },
  });

  // One pass over the watched rollouts feeds every per-rollout family of a scrape.
  const perRollout = {
    state: new Gauge({ name: 'ota_rollout_state', help: '1 for the state each rollout is in, 0 for the others', labelNames: ['rollout', 'state'] as const, registers, collect: () => filled() }),
    stage: new Gauge({ name: 'ota_rollout_stage', help: 'Current stage of each rollout (0-based, as in the API)', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    eligible: new Gauge({ name: 'ota_rollout_eligible_devices', help: 'Devices eligible through the stages reached (last census)', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    offered: new Gauge({ name: 'ota_rollout_offered_devices', help: 'Devices offered the rollout (first offers, written behind)', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    devices: new Gauge({ name: 'ota_rollout_devices', help: "Devices by their latest reported state (timed_out derived), per rollout", labelNames: ['rollout', 'state'] as const, registers, collect: () => filled() }),
    failureRatio: new Gauge({ name: 'ota_rollout_failure_ratio', help: 'Failures / terminal reports, as auto-halt computes it (0 before any terminal report)', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    threshold: new Gauge({ name: 'ota_rollout_failure_threshold_ratio', help: "The rollout's maxFailureBasisPoints / 10000", labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    terminal: new Gauge({ name: 'ota_rollout_terminal_reports', help: 'Terminal reports counted for auto-halt (applied, failed, rolled_back, rejected, timed_out)', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
    expiry: new Gauge({ name: 'ota_rollout_statement_expiry_seconds', help: 'Seconds until the earliest statement a serving rollout hands out expires', labelNames: ['rollout'] as const, registers, collect: () => filled() }),
  };
  const families = Object.values(perRollout);
  /**
   * Fills every per-rollout family at once, once per scrape (see `filled`).
   */
  const fill = async (): Promise<void> => {
    const nowMs = deps.now().getTime();
    const rollouts = await watched();
    const counters = new Map<string, Awaited<ReturnType<CounterStore['all']>>>();
    for (const r of rollouts) counters.set(r.id, await deps.counters.all(r.id));
    // Reset and filled in one synchronous stretch: a scrape never sees a family half filled.
    for (const g of families) g.reset();
    for (const r of rollouts) {
      const rollout = r.id;
      for (const s of ROLLOUT_STATES) perRollout.state.set({ rollout, state: s }, s === r.state ? 1 : 0);
      perRollout.stage.set({ rollout }, r.currentStage);
      const census = deps.census.of(r.id);
      if (census) perRollout.eligible.set({ rollout }, census.eligible);
      const counts = counters.get(r.id) as Awaited<ReturnType<CounterStore['all']>>;
      perRollout.offered.set({ rollout }, counts.get(counterKey.offered) ?? 0);
      for (const s of DEVICE_STATES) perRollout.devices.set({ rollout, state: s }, counts.get(counterKey.state(s)) ?? 0);
      // The same figures auto-halt uses (health-service.ts figuresOf), from the counters just read.
      const f = failureFigures((st: DeviceState) => counts.get(counterKey.state(st)) ?? 0);
      perRollout.failureRatio.set({ rollout }, f.terminal === 0 ? 0 : f.failures / f.terminal);
      perRollout.terminal.set({ rollout }, f.terminal);
      perRollout.threshold.set({ rollout }, r.failurePolicy.maxFailureBasisPoints / 10000);
    }
    for (const l of deps.live.current()) {
      if (l.statements.length === 0) continue;
      const earliest = Math.min(...l.statements.map((s) => s.expires));
      perRollout.expiry.set({ rollout: l.id }, (earliest - nowMs) / 1000);
    }
  };

  /**
   * A registry collects its families concurrently when a collect is async:
   * every per-rollout family waits for the one fill of this scrape.
   */
  let filling: Promise<void> | undefined;
  const filled = (): Promise<void> =>
    (filling ??= fill().finally(() => {
      filling = undefined;
    }));

  const transitions = new Counter({
    name: 'ota_rollout_transitions_total',
    help: 'Rollout state changes since start, by action and by whom (operator or system)',
    labelNames: ['action', 'by'] as const,
    registers,
  });
  const autoHalts = new Counter({ name: 'ota_rollout_auto_halts_total', help: 'Rollouts halted by the failure-rate rule since start', registers });
  deps.events.on((t) => {
    const automatic = isAutomatic(t);
    transitions.inc({ action: t.action, by: automatic ? 'system' : 'operator' });
    if (automatic && t.to.state === 'halted') autoHalts.inc();
  });

  // Enrolled devices: one COUNT(*) at the first scrape, then the enrollments counted since, so a
  // scrape never scans the devices table again.
  const enrollments = new Counter({ name: 'ota_device_enrollments_total', help: 'Enrollments since start (new devices and re-enrollments)', labelNames: ['kind'] as const, registers });
  let newSinceStart = 0;
  let base: number | undefined;
  new Gauge({
    name: 'ota_devices_enrolled',
    help: 'Devices enrolled (counted once at the first scrape, then kept up to date in memory)',
    registers,
    async collect() {
      base ??= (await deps.devices.count()) - newSinceStart;
      this.set(base + newSinceStart);
    },
  });

  new Gauge({
    name: 'ota_write_behind_backlog',
    help: 'Poll observations (last-seen, first offers) waiting in memory for the write-behind flush',
    registers,
    collect() {
      this.set(deps.activity.size);
    },
  });

  // The device cache's own tallies, read at scrape: how much of the poll traffic it answers (size
  // OTA_DEVICE_CACHE_ENTRIES from the hit share) and how many newcomers a full cache turned away.
  new Gauge({ name: 'ota_device_cache_entries', help: 'Devices in the device cache', registers, collect() { this.set(deps.devices.cacheStats().entries); } });
  new Counter({
    name: 'ota_device_cache_lookups_total',
    help: 'Device cache lookups outside a transaction since start, by result (hit: answered from memory)',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const { hits, misses } = deps.devices.cacheStats();
      this.reset();
      this.inc({ result: 'hit' }, hits);
      this.inc({ result: 'miss' }, misses);
    },
  });
  new Counter({
    name: 'ota_device_cache_refusals_total',
    help: 'Devices read from the store but not cached since start: the cache was full of devices still polling',
    registers,
    collect() {
      this.reset();
      this.inc(deps.devices.cacheStats().refusals);
    },
  });

  const commitSeconds = new Histogram({
    name: 'ota_group_commit_seconds',
    help: 'Wall time of one group-commit transaction, fsync included (reports and enrollments wait for it)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const commitBatch = new Histogram({
    name: 'ota_group_commit_batch_size',
    help: 'Requests sharing one group-commit transaction',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
    registers,
  });

  return {
    /** group-commit.ts `committed` hook. */
    committed(seconds: number, jobs: number): void {
      commitSeconds.observe(seconds);
      commitBatch.observe(jobs);
    },
    /** After a committed enrollment. */
    enrolled(reenrolled: boolean): void {
      enrollments.inc({ kind: reenrolled ? 'reenroll' : 'new' });
      if (!reenrolled) newSinceStart++;
    },
  };
}
