import { describe, expect, it } from 'vitest';
import { coalescedReads } from '../../server/db/coalesced-reads.js';

/** A loadMany that records each call's keys and knows the keys starting with "k". */
function loader(fail = false) {
  const calls: string[][] = [];
  const loadMany = async (keys: readonly string[]): Promise<Map<string, string>> => {
    calls.push([...keys]);
    if (fail) throw new Error('the connection is gone');
    return new Map(keys.filter((k) => k.startsWith('k')).map((k) => [k, `row of ${k}`]));
  };
  return { calls, loadMany };
}

describe('coalesced point reads (cold polls, issue 20)', () => {
  it('on PostgreSQL the keys of one turn are read by one call; each caller gets its own row, or undefined', async () => {
    const { calls, loadMany } = loader();
    const read = coalescedReads({ engine: 'postgres' }, loadMany);
    const got = await Promise.all(['k1', 'k2', 'k1', 'missing', 'k3'].map(read));
    expect(got).toEqual(['row of k1', 'row of k2', 'row of k1', undefined, 'row of k3']);
    expect(calls).toEqual([['k1', 'k2', 'missing', 'k3']]);
    // A later turn is a new read.
    expect(await read('k4')).toBe('row of k4');
    expect(calls).toHaveLength(2);
  });

  it('a batch is bounded: keys past 500 in one turn go in another read', async () => {
    const { calls, loadMany } = loader();
    const read = coalescedReads({ engine: 'postgres' }, loadMany);
    const keys = Array.from({ length: 1201 }, (_, i) => `k${i}`);
    const got = await Promise.all(keys.map(read));
    expect(got).toEqual(keys.map((k) => `row of ${k}`));
    expect(calls.map((c) => c.length)).toEqual([500, 500, 201]);
  });

  it('a failed read rejects every caller it served, and the next turn reads again', async () => {
    const failing = loader(true);
    const read = coalescedReads({ engine: 'postgres' }, failing.loadMany);
    const outcomes = await Promise.allSettled([read('k1'), read('k2')]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(failing.calls).toEqual([['k1', 'k2']]);
  });

  it('on SQLite each key is read at once, alone (no round trip to save, no turn to wait)', async () => {
    const { calls, loadMany } = loader();
    const read = coalescedReads({ engine: 'sqlite' }, loadMany);
    expect(await Promise.all(['k1', 'k2'].map(read))).toEqual(['row of k1', 'row of k2']);
    expect(calls).toEqual([['k1'], ['k2']]);
  });
});
