import { describe, expect, it } from 'vitest';
import { deviceBucket } from '../../server/devices/device-buckets.js';
import { bucketOf } from '../../server/protocol/bucket.js';

describe('buckets remembered per device', () => {
  it('always equals the protocol §5 bucket, across more salts than it remembers at once', () => {
    const devices = Array.from({ length: 50 }, (_, i) => ({ id: `dev-${i}` }));
    const salts = Array.from({ length: 20 }, (_, i) => `salt-${i}`);
    // Interleaved and repeated, so slots are reused across generations.
    for (let pass = 0; pass < 3; pass++) {
      for (const salt of salts) {
        for (const d of devices) expect(deviceBucket(d, salt)).toBe(bucketOf(salt, d.id));
        expect(deviceBucket(devices[0]!, 'poll-jitter')).toBe(bucketOf('poll-jitter', 'dev-0'));
      }
    }
  });

  it('keeps buckets per device object: two objects with different ids never share one', () => {
    const a = { id: 'alpha' };
    const b = { id: 'beta' };
    expect(deviceBucket(a, 's')).toBe(bucketOf('s', 'alpha'));
    expect(deviceBucket(b, 's')).toBe(bucketOf('s', 'beta'));
    expect(deviceBucket(a, 's')).toBe(bucketOf('s', 'alpha'));
  });
});
