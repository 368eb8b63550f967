import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { enrollDevice, EnrollmentError } from '../../server/programs/agent/enroll.js';
import { image, makeKeys, nextRoot, offerOf } from './agent-fixtures.js';
import { deviceOn, fakeServerFor, statesOf } from './agent-harness.js';

const keys = makeKeys();
const OS = image('os-1.4.3');
const IMAGE = { id: 'redmi-1s-1.4.3', version: '1.4.3', artifact: OS.artifact, settings: [] };

describe('persistence, offline queue and resume', () => {
  it('a restart resumes from the state file: trust, version, settings, seq', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE, { rolloutId: 'os-143' })]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    server.roots.push(nextRoot(keys.rootEnvelope.signed, keys.root));
    const first = deviceOn(server, keys);
    await first.agent.setByUser('display.brightness.auto', false);
    await first.agent.checkAndApply();
    expect(JSON.parse(await readFile(first.statePath, 'utf8'))).toMatchObject({ installedVersion: '1.4.3', seq: 5 });

    const rebooted = first.restart();
    server.offers.push(offerOf(keys, { id: 'brightness', appliesTo: '>=1.4.3', settings: [] }, { rolloutId: 'brightness' }));
    server.requests.splice(0);
    await rebooted.agent.checkAndApply();
    expect(rebooted.agent.installedVersion).toBe('1.4.3');
    expect(rebooted.agent.settings['display.brightness.auto']).toEqual({ value: false, source: 'user' });
    expect(rebooted.agent.snapshot().root.signed.version).toBe(2);
    expect(server.requests[0]?.path).toBe('/v1/trust/root/3');
    // The already-applied rollout is not acted on again; the new one continues the seq.
    expect(server.reports.slice(5).map((r) => [r.seq, r.rolloutId, r.state])).toEqual([
      [6, 'brightness', 'received'],
      [7, 'brightness', 'installing'],
      [8, 'brightness', 'applied'],
    ]);
  });

  it('reports queue while the server is unreachable and flush in order afterwards', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys)]);
    server.reportsStatus = 503;
    const d = deviceOn(server, keys);
    expect(await d.agent.checkAndApply()).toMatchObject({ status: 'ok', pendingReports: 3 });
    expect(server.reports).toEqual([]);

    server.down = true;
    expect(await d.agent.checkAndApply()).toMatchObject({ status: 'offline', pendingReports: 3 });

    server.down = false;
    delete server.reportsStatus;
    server.offers.push(offerOf(keys, { id: 'second', issuedAt: '2026-11-24T10:30:00Z', settings: [] }, { rolloutId: 'second' }));
    const rebooted = d.restart();
    expect(await rebooted.agent.checkAndApply()).toMatchObject({ status: 'ok', pendingReports: 0 });
    expect(server.reports.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(server.reports.map((r) => `${r.rolloutId}:${r.state}`)).toEqual([
      'optin-rollout:received', 'optin-rollout:installing', 'optin-rollout:applied',
      'second:received', 'second:installing', 'second:applied',
    ]);
  });

  it('a cut download resumes with Range after a restart, without repeating reports', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE)]);
    server.artifacts.set(OS.artifact.sha256, OS.bytes);
    server.cutArtifactAfter = 3000;
    const d = deviceOn(server, keys);
    const cut = await d.agent.checkAndApply();
    expect(cut.outcomes.map((o) => o.result)).toEqual(['interrupted']);
    const partial = d.agent.snapshot().partial;
    expect(partial?.offset).toBeGreaterThan(0);
    expect(partial?.offset).toBeLessThan(OS.bytes.length);
    expect(d.agent.snapshot().etag).toBeUndefined();

    const rebooted = d.restart();
    await rebooted.agent.checkAndApply();
    const ranges = server.requests.filter((r) => r.path.startsWith('/v1/artifacts/')).map((r) => r.headers.range);
    expect(ranges).toEqual([undefined, `bytes=${partial?.offset}-`]);
    expect(rebooted.installs.calls[0]?.bytes).toEqual(OS.bytes);
    expect(statesOf(server.reports)).toEqual(['received', 'downloading', 'downloaded', 'installing', 'applied']);
    expect(rebooted.agent.snapshot().partial).toBeUndefined();
  });

  it('an artifact longer than the manifest says is refused while downloading', async () => {
    const server = await fakeServerFor(keys, [offerOf(keys, IMAGE)]);
    server.artifacts.set(OS.artifact.sha256, new Uint8Array([...OS.bytes, 1, 2, 3]));
    const d = deviceOn(server, keys);
    await d.agent.checkAndApply();
    expect(server.reports.at(-1)?.error?.code).toBe('artifact_mismatch');
    expect(d.installs.calls).toEqual([]);
  });
});

describe('enrollment (protocol §7 POST /v1/devices)', () => {
  it('returns the device token, or an EnrollmentError with the status', async () => {
    const server = await fakeServerFor(keys);
    const base = { baseUrl: server.url, deviceId: 'redmi-1s-000042', model: 'redmi-1s', version: '1.4.1' };
    expect(await enrollDevice({ ...base, token: server.enrollToken })).toBe(server.deviceToken);
    await expect(enrollDevice({ ...base, token: 'wrong' })).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(enrollDevice({ ...base, token: 'wrong' })).rejects.toBeInstanceOf(EnrollmentError);
  });
});
