import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { image, makeKeys, nextRoot, offerOf, signedRelease, statementFor } from './agent-fixtures.js';
import { deviceOn, expectRejected, fakeServerFor, statesOf } from './agent-harness.js';

const keys = makeKeys();
const OS = image('os-1.4.3');
const IMAGE = { id: 'redmi-1s-1.4.3', version: '1.4.3', artifact: OS.artifact, settings: [] };

describe('DeviceAgent.checkAndApply (protocol §7 device flow)', () => {
  it('installs a verified image: reports every state, checks the bytes, keeps settings', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE, { rolloutId: 'os-143' })]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    const d = deviceOn(server, keys);
    await d.agent.setByUser('cloud.messaging.enabled', true);
    const result = await d.agent.checkAndApply();
    expect(result).toMatchObject({ status: 'ok', pendingReports: 0, trustProblems: [] });
    expect(d.installs.calls.map((c) => [c.release.id, c.bytes.length])).toEqual([['redmi-1s-1.4.3', OS.bytes.length]]);
    expect(d.agent.installedVersion).toBe('1.4.3');
    expect(statesOf(server.reports)).toEqual(['received', 'downloading', 'downloaded', 'installing', 'applied']);
    expect(server.reports.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(server.reports.at(-1)).toMatchObject({ releaseId: 'redmi-1s-1.4.3', rolloutId: 'os-143', version: '1.4.3', at: '2026-11-24T11:30:00Z' });
    expect(server.reports.at(-1)?.settings).toBeUndefined();
    expect(d.agent.settings['cloud.messaging.enabled']).toEqual({ value: true, source: 'user' });
    // After installing, it polled again with its new version; then the ETag makes the next poll a 304.
    expect(server.requests.filter((r) => r.path.includes('/update')).map((r) => r.path.split('?')[1])).toEqual(['version=1.4.1', 'version=1.4.3']);
    expect((await d.agent.checkAndApply()).status).toBe('not_modified');
    expect(server.requests.at(-1)?.headers['if-none-match']).toMatch(/^"/);
  });

  it('applies a settings-only release once: received, installing, applied with the settings map', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys)]);
    const d = deviceOn(server, keys);
    await d.agent.checkAndApply();
    expect(statesOf(server.reports)).toEqual(['received', 'installing', 'applied']);
    expect(server.reports.at(-1)).toMatchObject({ version: '1.4.1', settings: { 'cloud.messaging.enabled': { value: false, source: 'default' } } });
    expect(d.installs.calls).toEqual([]);
    await d.agent.checkAndApply();
    expect(server.reports).toHaveLength(3);
  });

  it('a failing installer is reported failed and changes nothing', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE)]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    const d = deviceOn(server, keys);
    d.installs.failWith = 'flash write error';
    await d.agent.checkAndApply();
    expect(statesOf(server.reports)).toEqual(['received', 'downloading', 'downloaded', 'installing', 'failed']);
    expect(server.reports.at(-1)?.error).toEqual({ code: 'install_failed', message: 'flash write error' });
    expect(d.agent.installedVersion).toBe('1.4.1');
  });

  it('a user who opted in keeps cloud messaging on; a device on defaults ends with it off', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys)]);
    const optedIn = deviceOn(server, keys);
    await optedIn.agent.setByUser('cloud.messaging.enabled', true);
    await optedIn.agent.checkAndApply();
    const onDefaults = deviceOn(server, keys);
    await onDefaults.agent.checkAndApply();
    expect(optedIn.agent.settings['cloud.messaging.enabled']).toEqual({ value: true, source: 'user' });
    expect(onDefaults.agent.settings['cloud.messaging.enabled']).toEqual({ value: false, source: 'default' });
    expect(server.reports.filter((r) => r.state === 'applied').map((r) => r.settings)).toEqual([
      { 'cloud.messaging.enabled': { value: true, source: 'user' } },
      { 'cloud.messaging.enabled': { value: false, source: 'default' } },
    ]);
  });

  it('a signed downgrade installs the older image and never changes a setting', async () => {
    const old = image('os-1.4.0');
    const server = await fakeServerFor(keys, [offerOf(keys, { id: 'back-to-140', version: '1.4.0', appliesTo: '>=1.4.1', artifact: old.artifact, downgrade: true, settings: [] })]);
    server.artifacts.set(old.artifact.sha256, old.bytes);
    const d = deviceOn(server, keys);
    await d.agent.setByUser('cloud.messaging.enabled', false);
    const before = d.agent.settings;
    await d.agent.checkAndApply();
    expect(d.agent.installedVersion).toBe('1.4.0');
    expect(d.agent.settings).toEqual(before);
  });
});

describe('attacks: nothing installed, one rejected report naming the reason', () => {
  const attacker = generatePrivateKey();

  async function attempt(offer: unknown, code: string, setup?: (s: Awaited<ReturnType<typeof fakeServerFor>>) => void, before: string[] = []) {
    const server = await fakeServerFor(keys, [offer]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    setup?.(server);
    const d = deviceOn(server, keys);
    const result = await d.agent.checkAndApply();
    expectRejected(server, d, code, before);
    return { server, d, result };
  }

  it('forged release signature', async () => {
    const forged = signedRelease(keys, IMAGE, [attacker]);
    await attempt({ release: forged, rollout: statementFor(keys, forged) }, 'signature_invalid');
  });

  it('missing release signature', async () => {
    const bare = { ...signedRelease(keys, IMAGE), signatures: [] };
    await attempt({ release: bare, rollout: statementFor(keys, bare) }, 'signature_invalid');
  });

  it('threshold not met', async () => {
    const two = makeKeys({ releaseKeys: 2, releaseThreshold: 2 });
    const server = await fakeServerFor(two);
    const half = signedRelease(two, IMAGE, [two.release[0]!]);
    server.offers = [{ release: half, rollout: statementFor(two, half) }];
    const d = deviceOn(server, two);
    await d.agent.checkAndApply();
    expectRejected(server, d, 'threshold_not_met');
  });

  it('mix-and-match: a genuine statement for another manifest', async () => {
    const wanted = signedRelease(keys, IMAGE);
    const other = signedRelease(keys, { ...IMAGE, notes: 'the manifest the rollout really ships' });
    await attempt({ release: wanted, rollout: statementFor(keys, other) }, 'manifest_mismatch');
  });

  it('expired statement (freeze)', async () => {
    await attempt(offerOf(keys, IMAGE, { issuedAt: '2026-11-24T09:00:00Z', expires: '2026-11-24T10:00:00Z' }), 'statement_expired');
  });

  it('older release version without downgrade (rollback)', async () => {
    const old = image('os-1.4.0');
    await attempt(offerOf(keys, { ...IMAGE, version: '1.4.0', appliesTo: '>=1.4.0', artifact: old.artifact }), 'rollback');
  });

  it('policy-violating release with valid signatures from a compromised server', async () => {
    const enable = offerOf(keys, { settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'reset' }] });
    const { d } = await attempt(enable, 'policy_violation');
    expect(d.agent.settings['cloud.messaging.enabled']).toEqual({ value: true, source: 'default' });
    expect(d.agent.snapshot().settingsOnly.applied).toEqual([]);
  });

  it('root chain with a forged N+1', async () => {
    const { result, d } = await attempt(offerOf(keys, IMAGE), 'root_chain_invalid', (s) => {
      s.roots.push(nextRoot(keys.rootEnvelope.signed, [attacker]));
    });
    expect(result.trustProblems.map((p) => p.code)).toEqual(['root_chain_invalid']);
    expect(d.agent.snapshot().root.signed.version).toBe(1);
  });

  it('artifact whose bytes do not match', async () => {
    const evil = image('os-evil!').bytes;
    expect(evil.length).toBe(OS.bytes.length);
    const { d, result } = await attempt(
      offerOf(keys, IMAGE),
      'artifact_mismatch',
      (s) => s.artifacts.set(OS.artifact.sha256, evil),
      ['received', 'downloading'],
    );
    expect(result.outcomes[0]?.reasons?.[0]?.message).toMatch(/SHA-256/);
    expect(d.agent.snapshot().partial).toBeUndefined();
  });

  it('replayed older statement version', async () => {
    // The device saw statement v5 while its download was cut; the server then replays v3.
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE, { version: 5 })]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    server.cutArtifactAfter = 100;
    const d = deviceOn(server, keys);
    expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['interrupted']);
    server.offers = [offerOf(keys, IMAGE, { version: 3 })];
    server.reports.splice(0);
    await d.agent.checkAndApply();
    expectRejected(server, d, 'statement_replayed');
  });
});
