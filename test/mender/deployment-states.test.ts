import { describe, expect, it } from 'vitest';
import { createDeploymentStates } from '../../server/mender/deployment-states.js';
import type { DeviceState } from '../../server/protocol/report-rules.js';

/** protocol §12 (closed deployments are not offered again), answered from memory after one read per deployment. */
describe('Mender deployment states', () => {
  const make = (stored: Record<string, DeviceState | null>) => {
    const reads: string[] = [];
    const published: string[] = [];
    let release: (() => void) | undefined;
    const states = createDeploymentStates({
      read: async (r, d) => {
        reads.push(`${r}:${d}`);
        if (r === 'slow') await new Promise<void>((done) => (release = done));
        return stored[`${r}:${d}`] ?? null;
      },
      publish: async (key) => void published.push(key),
      max: 100,
    });
    return { states, reads, published, release: () => release?.() };
  };

  it('reads a deployment once, then answers from memory; a closed state read is closed', async () => {
    const { states, reads } = make({ 'r1:d1': 'failed', 'r1:d2': 'installing' });
    expect(await states.isClosed('r1', 'd1')).toBe(true);
    expect(await states.isClosed('r1', 'd2')).toBe(false);
    expect(await states.isClosed('r1', 'd3')).toBe(false);
    expect(states.isClosed('r1', 'd1')).toBe(true);
    expect(states.isClosed('r1', 'd2')).toBe(false);
    expect(reads).toEqual(['r1:d1', 'r1:d2', 'r1:d3']);
  });

  it("a close made here is remembered and published; a close heard from the feed closes an open one", async () => {
    const { states, published } = make({});
    expect(await states.isClosed('r1', 'd1')).toBe(false);
    await states.closed('r1', 'd1');
    expect(states.isClosed('r1', 'd1')).toBe(true);
    expect(published).toEqual(['r1:d1']);
    expect(await states.isClosed('r1', 'd2')).toBe(false);
    states.heard('r1:d2');
    expect(states.isClosed('r1', 'd2')).toBe(true);
    states.heard('no-separator');
  });

  it('a read in flight when a close is heard does not reopen it', async () => {
    const t = make({ 'slow:d1': null });
    const pending = t.states.isClosed('slow', 'd1');
    await new Promise((r) => setImmediate(r));
    t.states.heard('slow:d1');
    t.release();
    expect(await pending).toBe(true);
    expect(t.states.isClosed('slow', 'd1')).toBe(true);
  });

  it('remembers a bounded number of rollouts per device: the oldest is read again, the latest answer from memory', async () => {
    const { states, reads } = make({ 'r0:d1': 'applied' });
    for (let i = 0; i < 17; i++) await states.isClosed(`r${i}`, 'd1');
    expect(reads).toHaveLength(17);
    // r0 was the oldest of the device's 17: forgotten, so read again (and still closed); r16 is remembered.
    expect(await states.isClosed('r0', 'd1')).toBe(true);
    expect(states.isClosed('r16', 'd1')).toBe(false);
    expect(reads).toHaveLength(18);
    // A device id with a ':' in it is split at the first one (a rollout id has none).
    states.heard('r5:d:2');
    expect(states.isClosed('r5', 'd:2')).toBe(true);
  });
});
