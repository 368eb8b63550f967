import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateDdiFleet } from '../../server/programs/fleet/ddi-fleet.js';
import { simulateFleet } from '../../server/programs/fleet/fleet-simulator.js';
import { ota } from '../cli/cli-harness.js';
import { api, LENIENT, publishOptinRelease, startLiveServer, startRollout, type LiveServer } from '../fleet/live-server.js';

/**
 * Issue 19 acceptance: one rollout, native agents and simulated DDI
 * controllers side by side (over real HTTP, on the test engine); the
 * server's status counts both in one place, equal to what the devices did.
 */
// 2,000 (1,000 + 1,000) did not all register within the run on the shared 2-core CI machine (load ~25):
// the default is 100 + 100 (PostgreSQL under that load registered only a few dozen DDI controllers a minute); OTA_DDI_FLEET_NATIVE / OTA_DDI_FLEET_DDI run it larger.
const NATIVE = Number(process.env.OTA_DDI_FLEET_NATIVE ?? 100);
const DDI = Number(process.env.OTA_DDI_FLEET_DDI ?? 100);

describe('a mixed fleet: native agents and DDI controllers in one rollout', () => {
  let s: LiveServer;
  let rolloutId: string;
  beforeAll(async () => {
    s = await startLiveServer({ ddiPollSeconds: 1 });
    await publishOptinRelease(s);
    rolloutId = await startRollout(s, { id: 'mixed', releaseId: 'redmi-1s-optin', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it(`${NATIVE} native + ${DDI} DDI devices: one status, equal to the devices' own tally`, async () => {
    const pinnedRoot = JSON.parse(readFileSync(s.rootFile, 'utf8')) as unknown;
    const common = { server: s.url, model: 'redmi-1s', version: '1.4.1', failRate: 0.2, durationSeconds: 90, concurrency: 24, seed: 'mixed', intervalSeconds: 1 };
    const [native, ddi] = await Promise.all([
      simulateFleet({
        ...common, devices: NATIVE, idPrefix: 'native', enrollToken: s.tokens.enroller, pinnedRoot, offlineRate: 0, userOptinRate: 0, drainSeconds: 30,
        factorySettings: { 'cloud.messaging.enabled': true }, optIn: { key: 'cloud.messaging.enabled', value: true },
      }),
      simulateDdiFleet({ ...common, devices: DDI, idPrefix: 'ddi', gatewayToken: s.tokens.gateway }),
    ]);
    expect(native.enrolled).toBe(NATIVE);
    expect(ddi.enrollErrors).toEqual({});
    expect(ddi.errors).toEqual([]);
    expect(ddi.enrolled).toBe(DDI);
    expect(ddi.errors).toEqual([]);
    // Some devices installed, some failed by the seeded failure rate (how many got through within the
    // run depends on the machine: the property is that the server counts what the devices did).
    expect(native.applied + ddi.applied).toBeGreaterThan(0);
    expect(ddi.applied + ddi.failed + ddi.inProgress).toBeGreaterThan(0);

    await s.running.ctx.activity.flushAll();
    const status = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/status`, s.tokens.qa)).body as { counts: Record<string, number> };
    // Native agents keep their ledger per rollout, DDI controllers per release (they never learn rollout ids).
    const seen = (state: string): number => (native.rollouts[rolloutId]?.counts[state] ?? 0) + (ddi.rollouts['redmi-1s-optin']?.counts[state] ?? 0);
    for (const state of ['received', 'downloading', 'downloaded', 'installing', 'applied', 'failed', 'declined', 'rejected']) {
      expect(status.counts[state] ?? 0, state).toBe(seen(state));
    }
    // Each kind is counted where the server keeps it: the DDI devices' reports came through the gateway.
    const ddiFailed = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/devices?state=failed&limit=1000`, s.tokens.viewer)).body.devices as { deviceId: string; error: { code: string; message: string } | null }[];
    const viaDdi = ddiFailed.filter((d) => d.deviceId.startsWith('ddi-'));
    expect(viaDdi).toHaveLength(ddi.failed);
    for (const d of viaDdi) expect(d.error).toEqual({ code: 'ddi_failure', message: 'ERROR : simulated install failure' });
  }, 300_000);

  it('ota fleet simulate --protocol ddi prints the tally of its controllers', async () => {
    const r = await ota(['fleet', 'simulate', '--protocol', 'ddi', '--server', s.url, '--gateway-token', s.tokens.gateway, '--token', s.tokens.viewer,
      '--devices', '5', '--duration', '8', '--seed', 'cli', '--id-prefix', 'ddi-cli', '--progress', 'none', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { enrolled: number; applied: number; failed: number };
    expect(out.enrolled).toBe(5);
    expect(out.applied + out.failed).toBe(5);
    const missing = await ota(['fleet', 'simulate', '--protocol', 'ddi', '--server', s.url, '--devices', '1', '--progress', 'none'], { env: {} });
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('--gateway-token');
  }, 120_000);
});
