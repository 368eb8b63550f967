import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { DeviceAgent } from '../../server/programs/agent/device-agent.js';
import { createNodeAgent, type NodeAgentOptions } from '../../server/programs/agent/node-agent.js';
import type { AgentReport } from '../../server/programs/agent/reporter.js';
import type { ReleaseSigned } from '../../server/protocol/release-manifest.js';
import { tempDir } from '../helpers/fixtures.js';
import { DEVICE, NOW, type Keys } from './agent-fixtures.js';
import { FakeLog } from './fake-log.js';
import { startFakeServer, type FakeServer } from './fake-server.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

export async function fakeServerFor(keys: Keys, offers: unknown[] = []): Promise<FakeServer> {
  const server = await startFakeServer({ roots: [keys.rootEnvelope], policy: keys.policy, offers, log: new FakeLog(keys.online) });
  servers.push(server);
  return server;
}

export interface Installs {
  calls: { path: string; bytes: Uint8Array; release: ReleaseSigned }[];
  failWith?: string;
}

export interface Device {
  agent: DeviceAgent;
  installs: Installs;
  statePath: string;
  clock: { now: Date };
  /** Another agent on the same state file: a reboot. */
  restart(): Device;
}

export function deviceOn(server: FakeServer, keys: Keys, over: Partial<NodeAgentOptions> = {}, statePath = join(tempDir('ota-agent-'), 'state.json')): Device {
  const installs: Installs = { calls: [] };
  const clock = { now: NOW };
  const agent = createNodeAgent({
    baseUrl: server.url,
    deviceToken: server.deviceToken,
    statePath,
    deviceId: DEVICE.deviceId,
    model: DEVICE.model,
    factoryVersion: DEVICE.installedVersion,
    factorySettings: { 'cloud.messaging.enabled': true, 'display.brightness.auto': true },
    pinnedRoot: keys.rootEnvelope,
    clock: () => clock.now,
    installer: async (path, release) => {
      if (installs.failWith) throw new Error(installs.failWith);
      installs.calls.push({ path, bytes: new Uint8Array(await readFile(path)), release });
    },
    ...over,
  });
  return { agent, installs, statePath, clock, restart: () => deviceOn(server, keys, over, statePath) };
}

export const statesOf = (reports: AgentReport[]) => reports.map((r) => r.state);

/** Attack acceptance: nothing installed, the version unchanged, one `rejected` report naming the reason. */
export function expectRejected(server: FakeServer, device: Device, code: string, before: string[] = []): void {
  expect(device.installs.calls).toEqual([]);
  expect(device.agent.installedVersion).toBe(DEVICE.installedVersion);
  expect(statesOf(server.reports)).toEqual([...before, 'rejected']);
  expect(server.reports.at(-1)?.error?.code).toBe(code);
}
