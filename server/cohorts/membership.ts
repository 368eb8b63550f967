import { ALL_COHORT, matchesRule, type DeviceFacts } from './cohort.js';
import type { CohortStore } from './cohort-store.js';

export interface Membership {
  /** The device's cohort test: rules and small member lists in memory. */
  inCohort: (cohort: string) => boolean;
  /**
   * True once `inCohort` was asked about a cohort whose member list stays in
   * the store (too large for memory) while no explicit list was given: it
   * answered false there, and the caller must ask again with the list.
   */
  readonly needsStore: boolean;
}

/**
 * A device's cohort test for one request, synchronous: rules are matched
 * in memory, small member lists are kept in memory. `explicit` is the
 * device's explicit memberships read from the store (cohortsOf), needed
 * only for a cohort too big to keep in memory.
 */
export function membershipOf(cohorts: Pick<CohortStore, 'cached'>, device: DeviceFacts, explicit?: ReadonlySet<string>): Membership {
  return new RequestMembership(cohorts, device, explicit);
}

// A class, not an object literal with a getter: every poll makes one, and V8 builds a literal with an
// accessor through the runtime (about 20 times the cost of this constructor).
class RequestMembership implements Membership {
  needsStore = false;

  constructor(
    private readonly cohorts: Pick<CohortStore, 'cached'>,
    private readonly device: DeviceFacts,
    private readonly explicit: ReadonlySet<string> | undefined,
  ) {}

  readonly inCohort = (name: string): boolean => {
    if (name === ALL_COHORT) return true;
    const c = this.cohorts.cached(name);
    if (!c) return false;
    if (c.rule && matchesRule(c.rule, this.device)) return true;
    if (!c.hasMembers) return false;
    if (c.members) return c.members.has(this.device.id);
    if (this.explicit) return this.explicit.has(name);
    this.needsStore = true;
    return false;
  };
}

/** The device's explicit memberships as a set (one indexed read), for `membershipOf`. */
export const explicitMembershipsOf = async (cohorts: Pick<CohortStore, 'cohortsOf'>, deviceId: string): Promise<ReadonlySet<string>> =>
  new Set(await cohorts.cohortsOf(deviceId));

/** The complete cohort test, reading explicit memberships from the store (paths that may wait: reports). */
export async function completeMembershipOf(cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>, device: DeviceFacts): Promise<(cohort: string) => boolean> {
  return membershipOf(cohorts, device, await explicitMembershipsOf(cohorts, device.id)).inCohort;
}

/**
 * `decide` with the device's cohort test, from memory when it can be: only
 * when it asked about a cohort whose member list stays in the store is that
 * device's membership read (one indexed read) and `decide` run again with
 * it. A device in rule cohorts and small lists costs no read (issue 20: a
 * group of reports without offers read each device's memberships one after
 * another).
 */
export async function decidedByMembership<T>(cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>, device: DeviceFacts, decide: (inCohort: (cohort: string) => boolean) => T): Promise<T> {
  const m = membershipOf(cohorts, device);
  const inMemory = decide(m.inCohort);
  return m.needsStore ? decide(await completeMembershipOf(cohorts, device)) : inMemory;
}

/** One cohort test: from memory when it can be, else with the device's explicit memberships from the store. */
export const isMemberOf = (cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'>, device: DeviceFacts, cohort: string): Promise<boolean> =>
  decidedByMembership(cohorts, device, (inCohort) => inCohort(cohort));
