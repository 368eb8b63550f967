import type { Logger } from 'pino';
import type { Sql } from '../db/sql.js';
import { figuresSince, type DeviceState, type FailureFigures } from '../protocol/report-rules.js';
import { shouldHalt } from './auto-halt.js';
import { counterKey, figuresOf, type CounterStore } from './rollout-counters.js';
import type { RolloutDeviceStore } from './rollout-device-store.js';
import type { RolloutService } from './rollout-service.js';
import type { RolloutStore } from './rollout-store.js';
import type { TimelineStore } from './rollout-timeline.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import { isAppError } from '../errors.js';
import { percentText } from '../lib/percent.js';
import type { Rollout } from './rollout.js';

export interface HealthDeps {
  sql: Sql;
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
  const { sql, rollouts, rolloutDevices, counters, service } = deps;

  /**
   * Runs an automatic action read from a rollout that may have moved since:
   * another request or node (protocol §9) acted first, and the state
   * machine refused this one. Nothing to do then; the next pass looks again.
   */
  const actUnlessRaced = async (act: () => Promise<unknown>): Promise<boolean> => {
    try {
      await act();
      return true;
    } catch (e) {
      if (isAppError(e) && e.code === 'invalid_transition') return false;
      throw e;
    }
  };

  const markTimeouts = async (r: Rollout, now: number): Promise<number> => {
    const before = now - r.failurePolicy.reportTimeoutSeconds * 1000;
    let total = 0;
    for (;;) {
      const marked = await sql.transaction(async () => {
        // The fleet's hot rows, in the cluster's lock order (cluster/advisory-locks.ts).
        await holdUntilCommit(sql, ADVISORY_LOCK.fleetWrites);
        const stale = await rolloutDevices.stale(r.id, before, 1000);
        for (const d of stale) {
          await counters.add(r.id, counterKey.state(d.state as string), -1);
          await counters.add(r.id, counterKey.state('timed_out'), 1);
          await deps.timeline.moved(r.id, d.state as DeviceState, 'timed_out', now);
          await rolloutDevices.setState({ ...d, state: 'timed_out', stateAt: now });
        }
        return stale.length;
      });
      total += marked;
      if (marked < 1000) return total;
    }
  };

  const haltIfFailing = async (r: Rollout, figures?: FailureFigures): Promise<boolean> => {
    if (r.state !== 'running' && r.state !== 'paused') return false;
    const f = figures ?? (await figuresOf(counters, r.id));
    const judged = figuresSince(f, r.overruledHalt);
    if (!shouldHalt(judged, r.failurePolicy)) return false;
    const rateBasisPoints = Math.floor((judged.failures * 10000) / judged.terminal);
    const since = r.overruledHalt ? ` since the halt was overruled at ${r.overruledHalt.at}` : '';
    const acted = await actUnlessRaced(() => service.act(r.id, 'halt', 'system:auto-halt', {
      // People read the reason (status, dashboard, CLI): percentages, as everywhere they read; the figures keep basis points.
      reason: `failure rate ${percentText(rateBasisPoints)} above the ${percentText(r.failurePolicy.maxFailureBasisPoints)} threshold after ${judged.terminal} terminal reports${since}`,
      figures: { ...f, rateBasisPoints, ...(r.overruledHalt ? { sinceOverruled: judged } : {}) },
      failurePolicy: r.failurePolicy,
    }));
    if (!acted) return true;
    deps.logger.warn({ rollout: r.id, rateBasisPoints, terminal: judged.terminal }, 'rollout halted automatically');
    return true;
  };

  const advanceIfDwelt = async (r: Rollout, now: number): Promise<void> => {
    const stage = r.stages[r.currentStage];
    if (r.state !== 'running' || !stage?.autoAdvance || r.stageStartedAt === null) return;
    const dwelt = now - r.stageStartedAt;
    if (dwelt < stage.minDwellSeconds * 1000) return;
    await actUnlessRaced(() => service.act(r.id, 'advance', 'system:auto-advance', { dweltSeconds: Math.floor(dwelt / 1000), minDwellSeconds: stage.minDwellSeconds }));
  };

  return {
    /** After ingest: only the halt rule, only for rollouts whose terminal or failure totals moved (report-group.ts). */
    async checkHalts(ids: Iterable<string>): Promise<void> {
      for (const id of ids) {
        // Both reads at once: this runs after a group commit that moved halt figures, before the group is
        // answered and the next group starts, so on PostgreSQL one read after the other was a round trip more.
        const [r, f] = await Promise.all([rollouts.get(id), figuresOf(counters, id)]);
        if (r) await haltIfFailing(r, f);
      }
    },
    /** The periodic pass. */
    async tick(): Promise<void> {
      const now = deps.now().getTime();
      // protocol §7 scheduled start: drafts whose startAt has come start now, on the record as the server's act.
      for (const id of await rollouts.dueToStart(now)) {
        try {
          await service.act(id, 'start', 'system:scheduled-start', { startAt: true });
        } catch (err) {
          // A start refused (e.g. another rollout serves the release) stays a draft and is tried each pass; said once per pass.
          if (!isAppError(err)) throw err;
          deps.logger.warn({ rollout: id, err: err.message }, 'scheduled start refused; the rollout stays a draft');
        }
      }
      // protocol §5: timed_out is a derived state shown in status, so a completed, halted or
      // cancelled rollout keeps deriving it; halt and advance concern running/paused ones only.
      for (const r of await rollouts.started()) {
        await markTimeouts(r, now);
        if (r.state !== 'running' && r.state !== 'paused') continue;
        if (!(await haltIfFailing(r))) await advanceIfDwelt(r, now);
      }
      await service.resignExpiring();
    },
  };
}
