import { ALL_COHORT, matchesRule, type DeviceFacts } from './cohort.js';
import type { CohortStore } from './cohort-store.js';

/**
 * A device's cohort test for one request: rules are matched in memory; the
 * explicit member list is read at most once, and only when a cohort has one.
 */
export function membershipOf(cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>, device: DeviceFacts): (cohort: string) => boolean {
  let explicit: Set<string> | undefined;
  return (name) => {
    if (name === ALL_COHORT) return true;
    const c = cohorts.cached(name);
    if (!c) return false;
    if (c.rule && matchesRule(c.rule, device)) return true;
    if (!c.hasMembers) return false;
    if (c.members) return c.members.has(device.id);
    explicit ??= new Set(cohorts.cohortsOf(device.id));
    return explicit.has(name);
  };
}
