import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FleetResult } from '../../server/programs/fleet/fleet-simulator.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { ota } from '../cli/cli-harness.js';
import { api, LENIENT, startLiveServer, startRollout, type LiveServer } from '../fleet/live-server.js';
import { releaseBody, signWith, tempDir } from '../helpers/fixtures.js';
import { artifactKey, menderArtifact } from './mender-helpers.js';

describe('ota fleet simulate --protocol mender (issue 17)', () => {
  let s: LiveServer | undefined;
  afterAll(async () => {
    await s?.close();
  });

  it('simulated Mender clients are admitted, install or fail by the dice, and the server status equals their tally', { timeout: 120_000 }, async () => {
    s = await startLiveServer();
    const dir = tempDir('ota-mender-fleet-');
    const bytes = menderArtifact(dir, { name: '2.0.0', deviceType: 'acc-board', key: artifactKey(dir, 'k').key, payload: Buffer.from('fleet payload\n'), out: join(dir, 'a.mender') });
    expect((await api(s, 'PUT', '/v1/artifacts', s.tokens['release-manager'], undefined, new Uint8Array(bytes))).status).toBe(201);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const signed = releaseBody({ id: 'acc-fleet', models: ['acc-board'], appliesTo: '*', version: '2.0.0', artifact: { sha256, size: bytes.length }, settings: [], issuedAt: toTimestamp(new Date()) });
    expect((await api(s, 'POST', '/v1/releases', s.tokens['release-manager'], signWith(signed, s.trust.releaseKeys))).status).toBe(201);
    const rolloutId = await startRollout(s, { id: 'acc-fleet-rollout', releaseId: 'acc-fleet', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
    const r = await ota(['fleet', 'simulate', '--protocol', 'mender', '--server', s.url, '--enroll-token', s.tokens['release-manager'], '--root', s.rootFile,
      '--devices', '60', '--model', 'acc-board', '--fail-rate', '0.2', '--duration', '10', '--seed', 'mender-fleet', '--progress', 'none', '--json']);
    expect(r.code, `${r.err}\n${r.out.slice(0, 500)}`).toBe(0);
    let tally: FleetResult;
    try {
      tally = JSON.parse(r.out) as FleetResult;
    } catch {
      throw new Error(`not JSON: ${r.out.slice(0, 800)}`);
    }
    expect(tally.enrolled).toBe(60);
    expect(tally.errors).toEqual([]);
    expect(tally.applied).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(0);
    const status = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/status`, s.tokens.qa)).body as { counts: Record<string, number> };
    const mine = tally.rollouts[rolloutId];
    for (const state of ['applied', 'failed', 'declined', 'downloading', 'installing']) expect(status.counts[state] ?? 0, state).toBe(mine?.counts[state] ?? 0);
  });
});
