import { ALL_COHORT, matchesRule } from '../cohorts/cohort.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import type { DeviceStore } from './device-store.js';
import { bucketOf } from '../protocol/bucket.js';
import { nativeSha256 } from '../protocol/crypto/native-hash.js';
import { eligibleStage } from '../rollouts/eligibility.js';
import type { LiveRollouts } from '../rollouts/live-rollouts.js';

export interface CensusFigures {
  /** Devices eligible through any reached stage. */
  eligible: number;
  /** Per reached stage, devices whose earliest eligible stage it is. */
  perStage: number[];
  computedAt: number;
  devicesScanned: number;
}

export type Census = ReturnType<typeof createCensus>;

const SLICE = 500;

/**
 * Eligible-device counts need every device's bucket, so they cannot be O(1)
 * per status call. The census walks the fleet in small slices between
 * event-loop turns (never blocking polls for long) and status shows the
 * latest figures with their age. Installed versions are the last polled;
 * decommissioned devices are not counted.
 */
export function createCensus(devices: Pick<DeviceStore, 'inServiceAfter'>, live: LiveRollouts, cohorts: CohortStore, now: () => Date, onError: (err: unknown) => void = () => {}) {
  let figures = new Map<string, CensusFigures>();
  let running: Promise<void> | undefined;
  let again = false;

  const scan = async (yieldBetween: boolean): Promise<void> => {
    const rollouts = live.current();
    // Explicit member lists of every cohort the reached stages name, read once per pass.
    const members = new Map<string, Set<string>>();
    for (const name of new Set(rollouts.flatMap((r) => r.stages.map((s) => s.cohort)))) {
      if (!cohorts.cached(name)?.hasMembers) continue;
      const s = new Set<string>();
      for (let after = ''; ;) {
        const ids = await cohorts.members(name, after, 10_000);
        ids.forEach((id) => s.add(id));
        if (ids.length < 10_000) break;
        after = ids[ids.length - 1] as string;
      }
      members.set(name, s);
    }
    const memberSet = (name: string): ReadonlySet<string> => members.get(name) ?? new Set();
    const next = new Map(rollouts.map((r) => [r.id, { eligible: 0, perStage: r.stages.map(() => 0), computedAt: 0, devicesScanned: 0 }]));
    let scanned = 0;
    for (let after = ''; ;) {
      // protocol §7 fleet lifecycle: a decommissioned device is refused every request, so no stage reaches it.
      const rows = await devices.inServiceAfter(after, SLICE);
      for (const device of rows) {
        const inCohort = (name: string): boolean => {
          if (name === ALL_COHORT) return true;
          const c = cohorts.cached(name);
          return !!c && ((c.rule !== undefined && matchesRule(c.rule, device)) || (c.hasMembers && memberSet(name).has(device.id)));
        };
        for (const r of rollouts) {
          const j = eligibleStage(r, device, bucketOf(r.salt, device.id, nativeSha256), inCohort);
          if (j < 0) continue;
          const f = next.get(r.id) as CensusFigures;
          f.eligible++;
          f.perStage[j] = (f.perStage[j] as number) + 1;
        }
      }
      scanned += rows.length;
      if (rows.length < SLICE) break;
      after = (rows[rows.length - 1] as { id: string }).id;
      if (yieldBetween) await new Promise((r) => setImmediate(r));
    }
    const at = now().getTime();
    for (const f of next.values()) Object.assign(f, { computedAt: at, devicesScanned: scanned });
    // A rollout that stopped serving (halted, cancelled, withdrawn) keeps the figures of its last
    // pass, with their age, rather than losing them: status then reads "as of" instead of nothing.
    for (const [id, f] of figures) if (!next.has(id)) next.set(id, f);
    figures = next;
  };

  return {
    of: (rolloutId: string): CensusFigures | undefined => figures.get(rolloutId),
    /** Runs one pass (at most one at a time); `yieldBetween` false for tests and small fleets. */
    run(yieldBetween = true): Promise<void> {
      if (running) {
        // A rollout changed during a pass: its figures need one more.
        again = true;
        return running;
      }
      running = scan(yieldBetween).finally(() => {
        running = undefined;
        if (again) {
          again = false;
          this.run(yieldBetween).catch(onError);
        }
      });
      return running;
    },
  };
}
