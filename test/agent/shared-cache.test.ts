import { describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../server/programs/agent/device-agent.js';
import { createHttpTransport } from '../../server/programs/agent/http-transport.js';
import { createMemoryStateStore } from '../../server/programs/agent/memory-state-store.js';
import type { ArtifactDownloader } from '../../server/programs/agent/ports.js';
import { VerifyCache } from '../../server/programs/agent/verify-cache.js';
import { makeKeys, NOW, offerOf } from './agent-fixtures.js';
import { fakeServerFor } from './agent-harness.js';

const keys = makeKeys();
const noDownloads: ArtifactDownloader = {
  download: () => Promise.reject(new Error('no artifacts here')),
  discard: () => Promise.resolve(),
};

describe('many agents in one process', () => {
  it('share one VerifyCache: each envelope is verified once, every device decides for itself', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys)]);
    const transport = createHttpTransport({ baseUrl: server.url, token: server.deviceToken });
    const cache = new VerifyCache();
    const agents = Array.from({ length: 100 }, (_, i) => new DeviceAgent({
      deviceId: `redmi-1s-${String(i).padStart(6, '0')}`,
      model: 'redmi-1s',
      factoryVersion: '1.4.1',
      factorySettings: { 'cloud.messaging.enabled': true },
      pinnedRoot: keys.rootEnvelope,
      transport,
      store: createMemoryStateStore(),
      downloader: noDownloads,
      installer: () => Promise.resolve(),
      clock: () => NOW,
      cache,
    }));
    await Promise.all(agents.slice(0, 30).map((a) => a.setByUser('cloud.messaging.enabled', true)));
    const results = await Promise.all(agents.map((a) => a.checkAndApply()));
    expect(results.every((r) => r.outcomes[0]?.result === 'applied')).toBe(true);
    // The envelopes and root steps (4), plus the checkpoint and two inclusion proofs (protocol §8).
    expect(cache.misses).toBeLessThanOrEqual(7);
    expect(cache.hits).toBeGreaterThan(200);
    const on = agents.filter((a) => a.settings['cloud.messaging.enabled']?.value === true);
    expect(on.map((a) => a.settings['cloud.messaging.enabled']?.source)).toEqual(Array(30).fill('user'));
    expect(server.reports.filter((r) => r.state === 'applied')).toHaveLength(100);
  });
});
