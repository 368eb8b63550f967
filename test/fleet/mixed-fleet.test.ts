import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateFleet, type FleetOptions, type FleetResult } from '../../server/programs/fleet/fleet-simulator.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { ota } from '../cli/cli-harness.js';
import { releaseBody, signWith, tempDir } from '../helpers/fixtures.js';
import { artifactKey, menderArtifact } from '../mender/mender-helpers.js';
import { api, LENIENT, startLiveServer, startRollout, type LiveServer } from './live-server.js';

/**
 * Issues 17 and 19 acceptance: one rollout, three device protocols side by
 * side over real HTTP on the test engine — reference agents (native §7),
 * simulated SWUpdate controllers (hawkBit DDI §11) and simulated Mender
 * clients (§12) — and the server's status counts them in one place, equal
 * to what the devices did. 2,000 devices by default (OTA_MIXED_FLEET sets
 * another total); each simulator stops once its devices have settled.
 */
const TOTAL = Number(process.env.OTA_MIXED_FLEET ?? 2000);
const NATIVE = Math.round(TOTAL * 0.34);
const DDI = Math.round(TOTAL * 0.33);
const MENDER = TOTAL - NATIVE - DDI;
const MODEL = 'acc-board';

describe('a mixed fleet: native agents, DDI controllers and Mender clients in one rollout', () => {
  let s: LiveServer;
  let rolloutId: string;
  beforeAll(async () => {
    // One release manager's token preauthorizes every Mender device: the operator limit is not what is tested here.
    s = await startLiveServer({ ddiPollSeconds: 1, rateLimitPerMinute: 1_000_000 });
    // One .mender artifact serves all three: Mender clients read its header, the others check its sha256.
    const dir = tempDir('ota-mixed-fleet-');
    const bytes = menderArtifact(dir, { name: '2.0.0', deviceType: MODEL, key: artifactKey(dir, 'k').key, payload: Buffer.from('mixed fleet payload\n'), out: join(dir, 'a.mender') });
    expect((await api(s, 'PUT', '/v1/artifacts', s.tokens['release-manager'], undefined, new Uint8Array(bytes))).status).toBe(201);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const signed = releaseBody({ id: 'acc-mixed', models: [MODEL], appliesTo: '*', version: '2.0.0', artifact: { sha256, size: bytes.length }, settings: [], issuedAt: toTimestamp(new Date(Date.now() - 60_000)) });
    expect((await api(s, 'POST', '/v1/releases', s.tokens['release-manager'], signWith(signed, s.trust.releaseKeys))).status).toBe(201);
    rolloutId = await startRollout(s, { id: 'mixed', releaseId: 'acc-mixed', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it(`${NATIVE} native + ${DDI} DDI + ${MENDER} Mender devices: one status, equal to the devices' own tally`, async () => {
    const pinnedRoot = JSON.parse(readFileSync(s.rootFile, 'utf8')) as unknown;
    const common: Omit<FleetOptions, 'devices' | 'idPrefix' | 'enrollToken' | 'protocol'> = {
      server: s.url, model: MODEL, version: '1.0.0', failRate: 0.2, offlineRate: 0, userOptinRate: 0, pinnedRoot, seed: 'mixed',
      // A ceiling, not the run: each simulator ends once a whole round changed nothing (untilSettled).
      durationSeconds: 540, untilSettled: true, drainSeconds: 30, concurrency: 16, intervalSeconds: 1,
      factorySettings: {}, optIn: { key: 'cloud.messaging.enabled', value: true },
    };
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const [native, ddi, mender] = await Promise.all([
      simulateFleet({ ...common, protocol: 'native', devices: NATIVE, idPrefix: 'native', enrollToken: s.tokens.enroller }),
      simulateFleet({ ...common, protocol: 'ddi', devices: DDI, idPrefix: 'ddi', enrollToken: s.tokens.gateway }),
      simulateFleet({ ...common, protocol: 'mender', devices: MENDER, idPrefix: 'mender', enrollToken: s.tokens['release-manager'] }),
    ]).finally(() => process.off('warning', onWarning));
    // The simulators' shared signals carry a listener per request and pause: no leak warning per listener.
    expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
    for (const [kind, r, n] of [['native', native, NATIVE], ['ddi', ddi, DDI], ['mender', mender, MENDER]] as [string, FleetResult, number][]) {
      expect(r.enrolled, kind).toBe(n);
      expect(r.enrollErrors, kind).toEqual({});
      expect(r.errors, kind).toEqual([]);
      // Settled: every device installed or failed; none left half-way.
      expect(r.inProgress, kind).toBe(0);
      expect(r.applied + r.failed, kind).toBe(n);
      expect(r.failed, kind).toBeGreaterThan(0);
    }

    await s.running.ctx.activity.flushAll();
    const status = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/status`, s.tokens.qa)).body as { counts: Record<string, number> };
    // Native agents and Mender clients keep their ledger per rollout (a Mender deployment id is the
    // rollout id), DDI controllers per release (they never learn rollout ids).
    const seen = (state: string): number =>
      (native.rollouts[rolloutId]?.counts[state] ?? 0) + (ddi.rollouts['acc-mixed']?.counts[state] ?? 0) + (mender.rollouts[rolloutId]?.counts[state] ?? 0);
    for (const state of ['received', 'downloading', 'downloaded', 'installing', 'applied', 'failed', 'declined', 'rejected']) {
      expect(status.counts[state] ?? 0, state).toBe(seen(state));
    }
    expect(status.counts.applied).toBe(native.applied + ddi.applied + mender.applied);
    // Each kind is counted where the server keeps it, with its own protocol's error.
    const failed = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/devices?state=failed&limit=1000`, s.tokens.viewer)).body.devices as { deviceId: string; error: { code: string; message: string } | null }[];
    const viaDdi = failed.filter((d) => d.deviceId.startsWith('ddi-'));
    if (failed.length < 1000) expect(viaDdi).toHaveLength(ddi.failed);
    for (const d of viaDdi) expect(d.error).toEqual({ code: 'ddi_failure', message: 'ERROR : simulated install failure' });
    for (const d of failed.filter((x) => x.deviceId.startsWith('mender-'))) expect(d.error).toEqual({ code: 'mender_failure', message: 'simulated installer failure' });
  }, 600_000);

  it('ota fleet simulate --protocol ddi prints the tally of its controllers', async () => {
    const r = await ota(['fleet', 'simulate', '--protocol', 'ddi', '--server', s.url, '--gateway-token', s.tokens.gateway, '--token', s.tokens.viewer,
      '--model', MODEL, '--version', '1.0.0', '--devices', '5', '--duration', '60', '--until-settled', '--offline-rate', '0', '--seed', 'cli', '--id-prefix', 'ddi-cli', '--progress', 'none', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { enrolled: number; applied: number; failed: number; rollouts: Record<string, { releaseId: string }>; rolloutStates: Record<string, { state: string }> };
    expect(out.enrolled).toBe(5);
    expect(out.applied + out.failed).toBe(5);
    // DDI names the release, not the rollout: the tally is keyed by the rollout that offered it all the same.
    expect(Object.keys(out.rollouts)).toEqual([rolloutId]);
    expect(out.rollouts[rolloutId]?.releaseId).toBe('acc-mixed');
    expect(out.rolloutStates[rolloutId]?.state).toEqual(expect.any(String));
    expect(r.err).not.toContain('not_found');
    const missing = await ota(['fleet', 'simulate', '--protocol', 'ddi', '--server', s.url, '--devices', '1', '--progress', 'none'], { env: {} });
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('--gateway-token');
  }, 120_000);
});
