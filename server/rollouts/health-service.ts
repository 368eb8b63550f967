import type { Logger } from 'pino';
import type { Db } from '../db/open.js';
import { figuresSince, shouldHalt, type DeviceState } from '../reports/report-rules.js';
import { counterKey, figuresOf, type CounterStore } from './rollout-counters.js';
import type { RolloutDeviceStore } from './rollout-device-store.js';
import type { RolloutService } from './rollout-service.js';
import type { RolloutStore } from './rollout-store.js';
import type { TimelineStore } from './rollout-timeline.js';
import type { Rollout } from './rollout.js';

export interface HealthDeps {
  db: Db;
  rollouts: RolloutStore;
  rolloutDevices: RolloutDeviceStore;
  counters: CounterStore;
  timeline: TimelineStore;
  service: RolloutService;
  now: () => Date;
  logger: Logger;
}

export type HealthService = ReturnType<typeof createHealthService>;

/**
 * protocol §5 health rules: silent devices become `timed_out`, a failure
 * rate over the policy halts the rollout, a stage that has dwelt long
 * enough advances. Every automatic action lands in the audit log with the
 * figures that caused it.
 */
export function createHealthService(deps: HealthDeps) {
  const { db, rollouts, rolloutDevices, counters, service } = deps;

  const markTimeouts = (r: Rollout, now: number): number => {
    const before = now - r.failurePolicy.reportTimeoutSeconds * 1000;
    let total = 0;
    for (;;) {
      const marked = db.transaction(() => {
        const stale = rolloutDevices.stale(r.id, before, 1000);
        for (const d of stale) {
          counters.add(r.id, counterKey.state(d.state as string), -1);
          counters.add(r.id, counterKey.state('timed_out'), 1);
          deps.timeline.moved(r.id, d.state as DeviceState, 'timed_out', now);
          rolloutDevices.setState({ ...d, state: 'timed_out', stateAt: now });
        }
        return stale.length;
      })();
      total += marked;
      if (marked < 1000) return total;
    }
  };

  const haltIfFailing = (r: Rollout): boolean => {
    if (r.state !== 'running' && r.state !== 'paused') return false;
    const f = figuresOf(counters, r.id);
    const judged = figuresSince(f, r.overruledHalt);
    if (!shouldHalt(judged, r.failurePolicy)) return false;
    const rateBasisPoints = Math.floor((judged.failures * 10000) / judged.terminal);
    const since = r.overruledHalt ? ` since the halt was overruled at ${r.overruledHalt.at}` : '';
    service.act(r.id, 'halt', 'system:auto-halt', {
      reason: `failure rate ${rateBasisPoints}bp over ${r.failurePolicy.maxFailureBasisPoints}bp after ${judged.terminal} terminal reports${since}`,
      figures: { ...f, rateBasisPoints, ...(r.overruledHalt ? { sinceOverruled: judged } : {}) },
      failurePolicy: r.failurePolicy,
    });
    deps.logger.warn({ rollout: r.id, rateBasisPoints, terminal: judged.terminal }, 'rollout halted automatically');
    return true;
  };

  const advanceIfDwelt = (r: Rollout, now: number): void => {
    const stage = r.stages[r.currentStage];
    if (r.state !== 'running' || !stage?.autoAdvance || r.stageStartedAt === null) return;
    const dwelt = now - r.stageStartedAt;
    if (dwelt < stage.minDwellSeconds * 1000) return;
    service.act(r.id, 'advance', 'system:auto-advance', { dweltSeconds: Math.floor(dwelt / 1000), minDwellSeconds: stage.minDwellSeconds });
  };

  return {
    /** After ingest: only the halt rule, only for rollouts whose counters moved. */
    checkHalts(ids: Iterable<string>): void {
      for (const id of ids) {
        const r = rollouts.get(id);
        if (r) haltIfFailing(r);
      }
    },
    /** The periodic pass. */
    tick(): void {
      const now = deps.now().getTime();
      // protocol §5: timed_out is a derived state shown in status, so a completed, halted or
      // cancelled rollout keeps deriving it; halt and advance concern running/paused ones only.
      for (const r of rollouts.started()) {
        markTimeouts(r, now);
        if (r.state !== 'running' && r.state !== 'paused') continue;
        if (!haltIfFailing(r)) advanceIfDwelt(r, now);
      }
      service.resignExpiring();
    },
  };
}
