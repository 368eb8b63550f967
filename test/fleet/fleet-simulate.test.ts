import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetResult } from '../../server/programs/fleet/fleet-simulator.js';
import type { SettingCount } from '../../server/programs/fleet/fleet-tally.js';
import { ota } from '../cli/cli-harness.js';
import { api, LENIENT, publishOptinRelease, startLiveServer, startRollout, type LiveServer } from './live-server.js';

const KEY = 'cloud.messaging.enabled';
const row = (rows: SettingCount[] | undefined, value: boolean, source: string): SettingCount | undefined =>
  rows?.find((r) => r.value === value && r.source === source);

describe('ota fleet simulate against a real server', () => {
  let s: LiveServer;
  let rolloutId: string;

  beforeAll(async () => {
    s = await startLiveServer();
    await publishOptinRelease(s);
    rolloutId = await startRollout(s, { id: 'optin-fleet', releaseId: 'redmi-1s-optin', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('2,000 devices finish, and the server status equals the fleet tally (states and settings value × source)', async () => {
    const r = await ota([
      'fleet', 'simulate', '--server', s.url, '--enroll-token', s.tokens.enroller, '--root', s.rootFile,
      '--devices', '2000', '--fail-rate', '0.1', '--offline-rate', '0.2', '--user-optin-rate', '0.2',
      '--duration', '20', '--seed', 'fleet-test', '--progress', 'lines', '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const tally = JSON.parse(r.out) as FleetResult;

    expect(tally.enrolled).toBe(2000);
    expect(tally.pendingReports).toBe(0);
    expect(tally.refusedReports).toBe(0);
    expect(tally.errors).toEqual([]);
    expect(tally.checks.offline).toBeGreaterThan(0);
    // Alone on a core about 1,800 devices finish in 20 s; under a parallel test run fewer do, which the comparison must not mind.
    const terminal = tally.applied + tally.failed;
    expect(terminal).toBeGreaterThan(500);
    expect(tally.rejected).toBe(0);
    expect(tally.failed / terminal).toBeGreaterThan(0.05);
    expect(tally.failed / terminal).toBeLessThan(0.15);
    expect(tally.offersSeen).toBe(terminal + tally.inProgress);
    expect(tally.optedIn).toBeGreaterThan(300);
    expect(tally.optedIn).toBeLessThan(500);

    const status = (await api(s, 'GET', `/v1/rollouts/${rolloutId}/status`, s.tokens.qa)).body;
    const mine = tally.rollouts[rolloutId];
    expect(mine).toBeDefined();
    for (const state of ['applied', 'failed', 'rejected', 'declined', 'received', 'downloading', 'downloaded', 'installing']) {
      expect(status.counts[state] ?? 0, state).toBe(mine?.counts[state] ?? 0);
    }
    expect(status.counts.applied).toBe(tally.applied);
    expect(status.counts.failed).toBe(tally.failed);
    const strip = (rows: { value: unknown; source: string; devices: number }[]) =>
      rows.map(({ value, source, devices }) => ({ value, source, devices })).sort((a, b) => `${String(a.value)}${a.source}`.localeCompare(`${String(b.value)}${b.source}`));
    expect(strip(status.settings[KEY])).toEqual(strip(mine?.settings[KEY] ?? []));

    // Reported by devices that applied the release: users who opted in keep true/user, the rest now false/default.
    const reported = mine?.settings[KEY];
    expect(row(reported, true, 'user')?.optedIn).toBe(row(reported, true, 'user')?.devices);
    expect(row(reported, false, 'default')?.optedIn).toBe(0);
    expect((row(reported, true, 'user')?.devices ?? 0) + (row(reported, false, 'default')?.devices ?? 0)).toBe(tally.applied);
    expect(reported?.length).toBe(2);

    // On the devices: every opted-in user still true/user; a failed install left the factory true/default untouched.
    const onDevices = tally.settings[KEY];
    expect(row(onDevices, true, 'user')?.devices).toBe(tally.optedIn);
    expect(row(onDevices, false, 'default')?.optedIn).toBe(0);
    expect(row(onDevices, true, 'default')?.optedIn ?? 0).toBe(0);
    expect((row(onDevices, false, 'default')?.devices ?? 0) + (row(onDevices, true, 'default')?.devices ?? 0)).toBe(2000 - tally.optedIn);
    expect(onDevices?.some((x) => x.value === false && x.source === 'user')).toBe(false);

    // Progress was printed as lines (not a TTY), then the run stopped by itself.
    expect(r.err).toMatch(/fleet: polling .* \| applied \d+/);
  }, 90_000);
});
