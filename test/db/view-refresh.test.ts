import { describe, expect, it } from 'vitest';
import { serialRefresh } from '../../server/db/view-refresh.js';

describe('serialRefresh: one rebuild of a view at a time, never a stale one last', () => {
  it('runs one pass at a time; calls during a pass share one more pass that starts after it', async () => {
    let source = 1;
    let view = 0;
    let passes = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const refresh = serialRefresh(async () => {
      passes++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const seen = source;
      await new Promise((r) => setTimeout(r, 10));
      view = seen;
      inFlight--;
    });
    const first = refresh();
    source = 2;
    const second = refresh();
    const third = refresh();
    expect(second).toBe(third);
    await Promise.all([first, second, third]);
    expect(view).toBe(2);
    expect(passes).toBe(2);
    expect(maxInFlight).toBe(1);
  });

  it('a failed pass rejects its callers; the pass queued behind it still runs', async () => {
    let ran = 0;
    const refresh = serialRefresh(async () => {
      const pass = ++ran;
      await new Promise((r) => setTimeout(r, 5));
      if (pass === 1) throw new Error('store down');
    });
    const first = refresh();
    const second = refresh();
    await expect(first).rejects.toThrow('store down');
    await expect(second).resolves.toBeUndefined();
    expect(ran).toBe(2);
  });
});
