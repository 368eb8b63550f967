import { ALL_COHORT, matchesRule } from '../cohorts/cohort.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import type { Db } from '../db/open.js';
import type { AttributeValue } from '../cohorts/cohort.js';
import { bucketOf } from './bucket.js';
import { nativeSha256 } from '../crypto/native-hash.js';
import { eligibleStage } from './eligibility.js';
import type { LiveRollouts } from './live-rollouts.js';

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
 * latest figures with their age. Installed versions are the last polled.
 */
export function createCensus(db: Db, live: LiveRollouts, cohorts: CohortStore, now: () => Date, onError: (err: unknown) => void = () => {}) {
  const page = db.prepare<[string, number], { id: string; model: string; version: string; attributes: string }>(
    'SELECT id, model, version, attributes FROM devices WHERE id > ? ORDER BY id LIMIT ?',
  );
  let figures = new Map<string, CensusFigures>();
  let running: Promise<void> | undefined;
  let again = false;

  const scan = async (yieldBetween: boolean): Promise<void> => {
    const rollouts = live.current();
    const members = new Map<string, Set<string>>();
    const memberSet = (name: string): Set<string> => {
      let s = members.get(name);
      if (!s) {
        s = new Set<string>();
        for (let after = ''; ;) {
          const ids = cohorts.members(name, after, 10_000);
          ids.forEach((id) => s?.add(id));
          if (ids.length < 10_000) break;
          after = ids[ids.length - 1] as string;
        }
        members.set(name, s);
      }
      return s;
    };
    const next = new Map(rollouts.map((r) => [r.id, { eligible: 0, perStage: r.stages.map(() => 0), computedAt: 0, devicesScanned: 0 }]));
    let scanned = 0;
    for (let after = ''; ;) {
      const rows = page.all(after, SLICE);
      for (const row of rows) {
        const device = { id: row.id, model: row.model, version: row.version, attributes: JSON.parse(row.attributes) as Record<string, AttributeValue> };
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
