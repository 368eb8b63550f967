import { bucketOf } from '../server/protocol/bucket.js';
import { deviceIdOf, deviceTokenOf, isTargetModel, menderTokenOf, type SeedResult } from './seed.js';
import type { LoadSpec } from './load.js';

const STATES = ['received', 'downloading', 'downloaded', 'installing', 'applied'];
/** Seeded devices already used seqs 1..5 in the report history. */
const SEEDED_SEQ = 5;

/** The i-th device of the targeted model, spread over the whole fleet. */
export const targetDevice = (k: number, devices: number): number => {
  const i = (k * 7919) % devices;
  return isTargetModel(i) ? i : (i + 1) % devices;
};

/** Devices the DDI scenario polls: few enough that their first polls (which make the actions) are a small part of the run. */
const DDI_POOL = 128;
/** Mender clients the `next` scenario polls: their first polls (token and device read, the offer noted) are a small part of the run, as the native poll's are. */
const MENDER_POOL = 1000;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

export function reportBody(seqFrom: number, count: number, deviceSeqIndex: number): string {
  const reports = Array.from({ length: count }, (_, j) => {
    const n = deviceSeqIndex + j;
    return { seq: seqFrom + j, releaseId: 'bench-settings-optin', rolloutId: 'bench-settings', state: STATES[Math.min(n, STATES.length - 1)], at: '2026-11-24T10:00:00Z' };
  });
  return JSON.stringify(count === 1 ? reports[0] : reports);
}

export interface ScenarioInput {
  seed: SeedResult;
  url: string;
  connections: number;
  durationSeconds: number;
  etags: Map<number, string>;
  runTag: string;
}

/**
 * The server-side scenarios. Reports keep every device's seqs increasing:
 * a device recurs only after `pool` requests, far more than are in flight.
 */
export function serverScenarios(s: ScenarioInput): Record<string, LoadSpec & { sequential?: number }> {
  const n = s.seed.devices;
  const base = { url: s.url, connections: s.connections, durationSeconds: s.durationSeconds };
  const half = Math.floor(n / 2);
  // Reports go to the 50 % settings rollout: only devices it really offers to may report.
  const settingsSalt = s.seed.salts['bench-settings'] as string;
  const reporting = (i: number): boolean => isTargetModel(i) && bucketOf(settingsSalt, deviceIdOf(i)) < 5000;
  const singlePool = Array.from({ length: half }, (_, k) => k).filter(reporting);
  const batchPool = Array.from({ length: n - half }, (_, k) => half + k).filter(reporting);
  const etagDevices = [...s.etags.keys()];
  return {
    pollOffered: {
      ...base, name: 'poll, update offered',
      request: (k) => { const i = targetDevice(k, n); return { path: `/v1/devices/${deviceIdOf(i)}/update?version=1.4.1`, headers: auth(deviceTokenOf(i)) }; },
    },
    // protocol §11: the hawkBit DDI base poll (TargetToken = the device token) of DDI_POOL target devices.
    // The first poll of each makes its action (a few statements, once per device and release); every
    // later one is answered from memory like the native poll — the steady state a fleet polls in.
    ddiPoll: {
      ...base, name: `DDI base poll (hawkBit), action linked, ${DDI_POOL} devices`,
      request: (k) => { const i = targetDevice(k % DDI_POOL, n); return { path: `/DEFAULT/controller/v1/${deviceIdOf(i)}`, headers: { authorization: `TargetToken ${deviceTokenOf(i)}` } }; },
    },
    // protocol §12: the Mender client's poll, on a fleet every device of which is offered a .mender release.
    menderNext: {
      ...base, name: `Mender deployments/next, update offered, ${Math.min(MENDER_POOL, s.seed.menderDevices)} devices`, method: 'POST', expectStatus: 200,
      request: (k) => ({
        path: '/api/devices/v2/deployments/device/deployments/next',
        headers: { ...auth(menderTokenOf((k * 7919) % Math.min(MENDER_POOL, s.seed.menderDevices))), 'content-type': 'application/json' },
        body: '{"device_provides":{"device_type":"acc-board","artifact_name":"1.0.0"},"update_control_map":true}',
      }),
    },
    pollNothing: {
      ...base, name: 'poll, nothing offered',
      request: (k) => { const i = ((k * 7919) % Math.floor(n / 5)) * 5; return { path: `/v1/devices/${deviceIdOf(i)}/update?version=2.0.0`, headers: auth(deviceTokenOf(i)) }; },
    },
    poll304: {
      ...base, name: 'poll → 304',
      request: (k) => {
        const i = etagDevices[k % etagDevices.length] as number;
        return { path: `/v1/devices/${deviceIdOf(i)}/update?version=1.4.1`, headers: { ...auth(deviceTokenOf(i)), 'if-none-match': s.etags.get(i) as string } };
      },
    },
    reportSingle: {
      ...base, name: 'report (1 per request)', method: 'POST',
      request: (k) => {
        const i = singlePool[k % singlePool.length] as number;
        const round = Math.floor(k / singlePool.length);
        return { path: `/v1/devices/${deviceIdOf(i)}/reports`, headers: { ...auth(deviceTokenOf(i)), 'content-type': 'application/json' }, body: reportBody(SEEDED_SEQ + round + 1, 1, round) };
      },
    },
    reportBatch: {
      ...base, name: 'reports (10 per request)', method: 'POST',
      request: (k) => {
        const i = batchPool[k % batchPool.length] as number;
        const round = Math.floor(k / batchPool.length);
        return { path: `/v1/devices/${deviceIdOf(i)}/reports`, headers: { ...auth(deviceTokenOf(i)), 'content-type': 'application/json' }, body: reportBody(SEEDED_SEQ + round * 10 + 1, 10, round * 10) };
      },
    },
    enroll: {
      ...base, name: 'enrollment', method: 'POST',
      request: (k) => ({
        path: '/v1/devices',
        headers: { ...auth(s.seed.tokens.enroller), 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: `enroll-${s.runTag}-${k}`, model: 'redmi-1s', version: '1.4.1', attributes: { region: 'eu' } }),
      }),
    },
    status: {
      ...base, name: 'rollout status (1 client, sequential)', connections: 1, sequential: 3000,
      request: () => ({ path: '/v1/rollouts/bench-system/status', headers: auth(s.seed.tokens.qa) }),
    },
    deviceList: {
      ...base, name: 'rollout device list, 100/page (1 client, sequential)', connections: 1, sequential: 2000,
      request: (k) => ({ path: `/v1/rollouts/bench-system/devices?limit=100&cursor=${deviceIdOf(targetDevice(k, n))}`, headers: auth(s.seed.tokens.qa) }),
    },
  };
}

export const REPORTS_PER_REQUEST: Record<string, number> = { reportSingle: 1, reportBatch: 10 };
