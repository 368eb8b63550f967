import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../server/lib/backoff.js';

describe('backoffDelay', () => {
  const schedule = { firstMs: 250, maxMs: 10_000 };
  it('waits firstMs before the first retry and doubles per further failure', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, schedule))).toEqual([250, 500, 1000, 2000, 4000, 8000]);
  });
  it('never waits longer than maxMs, for any number of failures', () => {
    expect(backoffDelay(6, schedule)).toBe(10_000);
    expect(backoffDelay(5000, schedule)).toBe(10_000);
  });
  it('treats a negative count as none', () => {
    expect(backoffDelay(-3, schedule)).toBe(250);
  });
});
