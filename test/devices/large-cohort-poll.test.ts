import { describe, expect, it } from 'vitest';
import type { CohortStore } from '../../server/cohorts/cohort-store.js';
import { createPollService } from '../../server/devices/poll-service.js';
import { makeApp } from '../helpers/fixtures.js';
import { act, createCohort, createRollout, FAILURE_POLICY, publish } from '../helpers/fleet.js';
import { enrollAll, RELEASE_ID } from '../rollouts/scenario.js';

/**
 * protocol §4: a cohort's explicit members decide eligibility however many there are. A member list
 * too large for memory (cohort-store.ts keeps up to 50,000 in memory) is read per device from the
 * store; here the in-memory list is hidden from the poll, so the store is the only way to know.
 */
describe('a poll in a cohort whose member list stays in the store', () => {
  it('offers the release to a member and nothing to a device outside it', async () => {
    const f = await makeApp();
    await publish(f);
    await enrollAll(f, ['member-1', 'outsider-1']);
    await createCohort(f, { name: 'pilot', members: ['member-1'] });
    const r = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'pilot', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, r.id, 'start')).status).toBe(200);

    const real = f.ctx.cohorts;
    const reads: string[] = [];
    const cohorts: Pick<CohortStore, 'cached' | 'cohortsOf'> = {
      cached: (name) => {
        const c = real.cached(name);
        return c && { ...c, members: undefined };
      },
      cohortsOf: (id) => {
        reads.push(id);
        return real.cohortsOf(id);
      },
    };
    const poll = createPollService({ ...f.ctx, cohorts, pollIntervalSeconds: 900, pollJitterSeconds: 0 });
    const offered = async (id: string): Promise<unknown[]> => {
      const device = await f.ctx.devices.get(id);
      if (!device) throw new Error(`${id} is not enrolled`);
      const answer = await poll.poll(device, '1.4.1', f.clock.now.getTime());
      return (JSON.parse(answer.bytes.toString()) as { updates: unknown[] }).updates;
    };
    expect(await offered('member-1')).toHaveLength(1);
    expect(await offered('outsider-1')).toHaveLength(0);
    expect(reads).toEqual(['member-1', 'outsider-1']);
  });
});
