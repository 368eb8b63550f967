import { describe, expect, it } from 'vitest';
import type { CachedCohort, CohortStore } from '../../server/cohorts/cohort-store.js';
import { compileRule, type DeviceFacts } from '../../server/cohorts/cohort.js';
import { decidedByMembership } from '../../server/cohorts/membership.js';

const device: DeviceFacts = { id: 'dev-1', model: 'redmi-1s', version: '1.4.1', attributes: {} };

/** A cohort store with `pilot` (a rule on the model), `qa` (a small list, in memory) and `fleet` (a list kept in the store). */
function store(explicit: Record<string, string[]>) {
  const reads: string[] = [];
  const cached: Record<string, CachedCohort> = {
    pilot: { name: 'pilot', rule: compileRule({ models: ['redmi-1s'] }), hasMembers: false, members: undefined },
    qa: { name: 'qa', rule: undefined, hasMembers: true, members: new Set(['dev-1']) },
    fleet: { name: 'fleet', rule: undefined, hasMembers: true, members: undefined },
  };
  const cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'> = {
    cached: (name) => cached[name],
    cohortsOf: async (id) => {
      reads.push(id);
      return explicit[id] ?? [];
    },
  };
  return { cohorts, reads };
}

describe('decidedByMembership: the store is read only for a cohort whose list stays there', () => {
  it('decides from memory for rule cohorts and small lists, reading nothing', async () => {
    const { cohorts, reads } = store({ 'dev-1': ['qa'] });
    const decided = await decidedByMembership(cohorts, device, (inCohort) => [inCohort('pilot'), inCohort('qa'), inCohort('nope')]);
    expect(decided).toEqual([true, true, false]);
    expect(reads).toEqual([]);
  });

  it('decides again with the device memberships once a cohort kept in the store was asked about', async () => {
    const member = store({ 'dev-1': ['fleet'] });
    // The first stage a device is in wins: in memory `fleet` answered false, so the walk would pick `pilot` (stage 1).
    const firstStage = (inCohort: (c: string) => boolean): number => ['fleet', 'pilot'].findIndex((c) => inCohort(c));
    expect(await decidedByMembership(member.cohorts, device, firstStage)).toBe(0);
    expect(member.reads).toEqual(['dev-1']);

    const outsider = store({});
    expect(await decidedByMembership(outsider.cohorts, device, firstStage)).toBe(1);
    expect(outsider.reads).toEqual(['dev-1']);
  });
});
