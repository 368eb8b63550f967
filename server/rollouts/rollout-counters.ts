import type { Db } from '../db/open.js';
import { failureFigures, type DeviceState, type FailureFigures } from '../reports/report-rules.js';

export type Counters = ReadonlyMap<string, number>;

/** Counter keys, in one place so writers and readers agree. */
export const counterKey = {
  state: (s: string) => `state:${s}`,
  offered: 'offered',
  offeredAt: (stage: number) => `offered:${stage}`,
  reportedAt: (stage: number) => `reported:${stage}`,
  setting: (key: string, value: unknown, source: string) => `setting:${key}\u0000${JSON.stringify(value)}\u0000${source}`,
};

export type CounterStore = ReturnType<typeof createCounterStore>;

/** Per-rollout counters, changed inside the caller's transaction so they always equal a recount. */
export function createCounterStore(db: Db) {
  const addStmt = db.prepare(`INSERT INTO rollout_counters (rollout_id, key, value) VALUES (?, ?, ?)
    ON CONFLICT (rollout_id, key) DO UPDATE SET value = value + excluded.value`);
  const allStmt = db.prepare<[string], { key: string; value: number }>('SELECT key, value FROM rollout_counters WHERE rollout_id = ?');
  return {
    add(rolloutId: string, key: string, delta: number): void {
      if (delta !== 0) addStmt.run(rolloutId, key, delta);
    },
    all(rolloutId: string): Counters {
      return new Map(allStmt.all(rolloutId).map((r) => [r.key, r.value]));
    },
  };
}

/** protocol §5 auto-halt figures of a rollout, from its counters. */
export const figuresOf = (counters: CounterStore, rolloutId: string): FailureFigures => {
  const all = counters.all(rolloutId);
  return failureFigures((s: DeviceState) => all.get(counterKey.state(s)) ?? 0);
};
