import { describe, expect, it } from 'vitest';
import { createPollService } from '../../server/devices/poll-service.js';
import { createLoadGauge, loadFactorOf } from '../../server/ops/load-gauge.js';
import { enrollAll, scenario } from '../rollouts/scenario.js';

describe('under load the server raises pollAfterSeconds (protocol §7)', () => {
  it('multiplies the interval by the load factor, and the ETag follows the body', async () => {
    const s = await scenario();
    await enrollAll(s.f, ['busy']);
    const device = (await s.f.ctx.devices.get('busy'));
    if (!device) throw new Error('not enrolled');
    let factor = 1;
    const poll = createPollService({ ...s.f.ctx, pollIntervalSeconds: 900, pollJitterSeconds: 0, loadFactor: () => factor });
    // A cached device, cohorts in memory: the answer comes back in this turn, not as a promise.
    const calm = poll.poll(device, '1.4.1', Date.now());
    if (calm instanceof Promise) throw new Error('a poll with everything in memory must not return a promise');
    factor = 4;
    const loaded = await poll.poll(device, '1.4.1', Date.now());
    expect(JSON.parse(calm.bytes.toString()).pollAfterSeconds).toBe(900);
    expect(JSON.parse(loaded.bytes.toString()).pollAfterSeconds).toBe(3600);
    expect(loaded.etag).not.toBe(calm.etag);
  });

  it.each([
    [0, 1],
    [100, 1],
    [101, 2],
    [250, 3],
    [10_000, 8],
  ])('p99 delay %i ms against a 100 ms threshold → factor %i', (p99, factor) => {
    expect(loadFactorOf(p99 * 1e6, 100 * 1e6, 8)).toBe(factor);
  });

  it('the gauge reads a blocked event loop as load', async () => {
    const gauge = createLoadGauge({ thresholdMs: 100 });
    try {
      expect(gauge.factor()).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // busy: the event loop cannot turn
      }
      await new Promise((r) => setTimeout(r, 1100));
      expect(gauge.factor()).toBeGreaterThanOrEqual(2);
    } finally {
      gauge.stop();
    }
  });
});
