import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceIdOf } from '../../server/devices/admission/device-identity.js';
import { ota } from '../cli/cli-harness.js';
import { makeTrust, releaseBody, signWith, tempDir, testDatabaseConfig } from '../helpers/fixtures.js';
import { expectDistBuilt, startServerProcess, waitFor, type ServerProcess } from '../helpers/server-process.js';
import { artifactKey, authRequest, deviceKey, menderArtifact, run } from './mender-helpers.js';

const ROLLOUT = 'acc-stock';
const RELEASE = 'acc-board-2-0-0';

/** Every mender client this file starts, killed (its whole process group) after each test. */
const clients: ChildProcess[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
    }
  }
});

interface StockClient {
  proc: ChildProcess;
  output(): string;
  dataDir: string;
}

/**
 * The stock `mender` daemon (Debian's mender-client 3.4) in its own mount
 * namespace: /etc/mender (artifact_info, the config) and the identity
 * script are fixed paths, so each instance gets private ones by bind mounts.
 */
function startMender(server: string, o: { dir: string; mac: string; verifyKey: string; agentKey?: string }): StockClient {
  const etc = join(o.dir, 'etc');
  const identity = join(o.dir, 'identity');
  const data = join(o.dir, 'data');
  for (const d of [etc, identity, data]) mkdirSync(d, { recursive: true });
  writeFileSync(join(etc, 'artifact_info'), 'artifact_name=1.0.0\n');
  writeFileSync(join(etc, 'mender.conf'), JSON.stringify({
    ServerURL: server, UpdatePollIntervalSeconds: 2, InventoryPollIntervalSeconds: 2, RetryPollIntervalSeconds: 1,
    ArtifactVerifyKey: o.verifyKey, DBus: { Enabled: false },
  }));
  writeFileSync(join(o.dir, 'fallback.conf'), '{}');
  writeFileSync(join(identity, 'mender-device-identity'), `#!/bin/sh\necho "mac=${o.mac}"\n`);
  chmodSync(join(identity, 'mender-device-identity'), 0o755);
  writeFileSync(join(data, 'device_type'), 'device_type=acc-board\n');
  if (o.agentKey) writeFileSync(join(data, 'mender-agent.pem'), readFileSync(o.agentKey), { mode: 0o600 });
  const script = [
    'set -e',
    `mount --bind '${etc}' /etc/mender`,
    `mount --bind '${identity}' /usr/share/mender/identity`,
    `exec mender --no-syslog -l info -c '${join(etc, 'mender.conf')}' -b '${join(o.dir, 'fallback.conf')}' -d '${data}' daemon`,
  ].join('\n');
  const proc = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  clients.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out, dataDir: data };
}

describe('the stock mender client (Debian mender-client 3.4) against a real server (protocol §12, issue 17)', () => {
  it('is admitted by an operator, installs a signed .mender release and counts applied; a client with another verify key fails with its log line and halts the rollout; then next is 204 for everyone', { timeout: 300_000 }, async () => {
    expectDistBuilt();
    const trust = makeTrust({ releaseKeys: 2, releaseThreshold: 2 });
    const dataDir = tempDir('ota-mender-stock-');
    const db = await testDatabaseConfig();
    const dbEnv: Record<string, string> = db.databaseUrl ? { OTA_DATABASE_URL: db.databaseUrl } : {};
    const server: ServerProcess = await startServerProcess({ OTA_DATA_DIR: dataDir, OTA_TRUST_DIR: trust.dir, OTA_DEMO: 'false', OTA_LOG_LEVEL: 'warn', OTA_HEALTH_INTERVAL_SECONDS: '1', ...dbEnv });
    const tokenOf = async (role: string): Promise<string> => {
      const r = await ota(['token', 'create', '--role', role, '--data', dataDir, '--json'], { env: dbEnv, now: new Date() });
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { token: string }).token;
    };
    const rm = await tokenOf('release-manager');
    const viewer = await tokenOf('viewer');
    const cli = (args: string[]) => ota([...args, '--server', server.url, '--token', rm], { now: new Date() });
    const api = async (method: string, path: string, body?: unknown, token = rm): Promise<{ status: number; body: Record<string, unknown>; text: string }> => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: (parsed ?? {}) as Record<string, unknown>, text };
    };

    // Client B's device key (RSA, as the client makes its own), made ahead so the operator can preauthorize it.
    const bDir = tempDir('ota-mender-b-');
    const bAgent = join(bDir, 'agent.pem');
    run('openssl', ['genrsa', '-traditional', '-out', bAgent, '2048']);
    run('openssl', ['rsa', '-in', bAgent, '-pubout', '-out', `${bAgent}.pub`]);

    // An ECDSA P-256 artifact key, a signed single-file artifact, uploaded and published with the release threshold (2 of 2).
    const work = tempDir('ota-mender-work-');
    const good = artifactKey(work, 'artifact-key');
    const other = artifactKey(work, 'other-key');
    const payload = Buffer.from(`acc-board firmware 2.0.0 ${Date.now()}\n`);
    const bytes = menderArtifact(work, { name: '2.0.0', deviceType: 'acc-board', key: good.key, payload, out: join(work, 'acc-2.0.0.mender') });
    const up = await fetch(`${server.url}/v1/artifacts`, { method: 'PUT', headers: { Authorization: `Bearer ${rm}`, 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
    expect(up.status).toBe(201);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const release = signWith(releaseBody({ id: RELEASE, models: ['acc-board'], appliesTo: '*', version: '2.0.0', artifact: { sha256, size: bytes.length }, settings: [], issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }), trust.releaseKeys);
    const published = await api('POST', '/v1/releases', release);
    expect(published.status, published.text).toBe(201);
    const policy = { maxFailureBasisPoints: 1000, minTerminalReports: 2, reportTimeoutSeconds: 3600 };
    expect((await api('POST', '/v1/rollouts', { id: ROLLOUT, releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000, minDwellSeconds: 0, autoAdvance: false }], failurePolicy: policy })).status).toBe(201);
    expect((await api('POST', `/v1/rollouts/${ROLLOUT}/start`, {})).status).toBe(200);
    const status = async () => (await api('GET', `/v1/rollouts/${ROLLOUT}/status`, undefined, viewer)).body as unknown as { state: string; counts: Record<string, number> };

    // Client A: asks to be admitted, is pending until the operator accepts it through the CLI.
    const a = startMender(server.url, { dir: tempDir('ota-mender-a-'), mac: '52:54:00:aa:00:01', verifyKey: good.pub });
    const aId = deviceIdOf({ mac: '52:54:00:aa:00:01' });
    await waitFor(async () => {
      const r = await cli(['device', 'pending', '--json']);
      return r.code === 0 && (JSON.parse(r.out) as { devices: { deviceId: string }[] }).devices.some((d) => d.deviceId === aId) ? true : undefined;
    }, 60_000, () => `client A never asked to be admitted:\n${a.output()}`, 500);
    // Still pending: nothing enrolled, nothing offered.
    expect((await api('GET', `/v1/devices/${aId}`, undefined, viewer)).status).toBe(404);
    const accepted = await cli(['device', 'accept', aId]);
    expect(accepted.code, accepted.err).toBe(0);
    expect(accepted.out).toContain(`device ${aId} accepted`);

    // It sends its inventory, is offered the release, downloads it through the signed link, installs it, reports success.
    await waitFor(async () => ((await status()).counts.applied === 1 ? true : undefined), 120_000, () => `client A did not apply:\n${a.output()}`, 500);
    // The single-file update module wrote the payload where the artifact's dest_dir says.
    const installed = join(work, 'installed', 'payload.bin');
    expect(readFileSync(installed).equals(payload)).toBe(true);
    rmSync(installed);
    const aDevice = (await api('GET', `/v1/devices/${aId}`, undefined, viewer)).body;
    expect(aDevice).toMatchObject({ model: 'acc-board', attributes: { device_type: 'acc-board', mender_client_version: expect.any(String) } });
    // Its next inventory carries the new artifact_name: the device runs 2.0.0.
    await waitFor(async () => ((await api('GET', `/v1/devices/${aId}`, undefined, viewer)).body.version === '2.0.0' ? true : undefined), 30_000, () => 'the version never became 2.0.0', 500);

    // A third identity, from the test: preauthorized (no operator), its forged request refused, an altered link 403.
    const probeKey = deviceKey('ec');
    const probeId = { mac: '52:54:00:aa:00:09' };
    const forged = authRequest(probeId, probeKey);
    const forgedRes = await fetch(`${server.url}/api/devices/v1/authentication/auth_requests`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': authRequest(probeId, deviceKey('ec')).signature }, body: new Uint8Array(forged.body) });
    expect(forgedRes.status).toBe(401);
    const pubFile = join(work, 'probe.pub.pem');
    writeFileSync(pubFile, probeKey.pem);
    const pre = await cli(['device', 'preauthorize', '--id-data', JSON.stringify(probeId), '--pubkey', pubFile]);
    expect(pre.code, pre.err).toBe(0);
    const probeAuth = await fetch(`${server.url}/api/devices/v1/authentication/auth_requests`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-MEN-Signature': forged.signature }, body: new Uint8Array(forged.body) });
    expect(probeAuth.status).toBe(200);
    const probeToken = await probeAuth.text();
    const probeNext = () => fetch(`${server.url}/api/devices/v2/deployments/device/deployments/next`, { method: 'POST', headers: { Authorization: `Bearer ${probeToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ device_provides: { device_type: 'acc-board', artifact_name: '1.0.0' }, update_control_map: true }) });
    const offered = await probeNext();
    expect(offered.status).toBe(200);
    const link = new URL(((await offered.json()) as { artifact: { source: { uri: string } } }).artifact.source.uri);
    expect((await fetch(link)).status).toBe(200);
    link.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 60));
    expect((await fetch(link)).status).toBe(403);

    // Client B: preauthorized with its own agent key; it verifies artifacts with another key, so it fails.
    const bPre = await cli(['device', 'preauthorize', '--id-data', JSON.stringify({ mac: '52:54:00:bb:00:02' }), '--pubkey', `${bAgent}.pub`]);
    expect(bPre.code, `${bPre.err}\n${server.output().slice(-4000)}`).toBe(0);
    const bId = deviceIdOf({ mac: '52:54:00:bb:00:02' });
    const b = startMender(server.url, { dir: bDir, mac: '52:54:00:bb:00:02', verifyKey: other.pub, agentKey: bAgent });
    // Admitted without an operator; reports failure with its log; the rollout counts it failed with the log's error line.
    const failure = await waitFor(async () => {
      const d = (await api('GET', `/v1/devices/${bId}`, undefined, viewer)).body as unknown as { rollouts?: { state: string; error?: { code: string; message: string } }[] } | undefined;
      const r = d?.rollouts?.[0];
      return r?.state === 'failed' && r.error?.message.includes('verification failed') ? r : undefined;
    }, 120_000, () => `client B never reported its failure with the log:\n${b.output()}`, 500);
    expect(failure.error).toMatchObject({ code: 'mender_failure', message: expect.stringMatching(/invalid signature/) });
    expect(existsSync(installed)).toBe(false);
    // Crossing the threshold halts the rollout; deployments/next then answers 204 for everyone.
    await waitFor(async () => ((await status()).state === 'halted' ? true : undefined), 30_000, () => 'the rollout did not halt', 250);
    expect((await status()).counts).toMatchObject({ applied: 1, failed: 1 });
    expect((await probeNext()).status).toBe(204);
    expect(server.proc.exitCode).toBeNull();
  });
});
