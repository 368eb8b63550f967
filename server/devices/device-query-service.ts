import { completeMembershipOf, isMemberOf } from '../cohorts/membership.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import type { RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { ReportStore } from '../reports/report-store.js';
import { AppError } from '../errors.js';
import type { ReportView } from '../reports/report-store.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { Device, DeviceStore } from './device-store.js';

/** Devices looked at per listing request, matching or not: a rare filter never holds the event loop. */
export const SCAN_BUDGET = 2000;
const CHUNK = 500;
/** Reports shown with one device: its latest, enough for every rollout it is in. */
const REPORTS_PER_DEVICE = 200;

export interface DeviceQuery {
  model?: string;
  cohort?: string;
  rollout?: string;
  state?: string;
  limit: number;
  cursor?: string;
}

export interface DirectoryDeps {
  devices: DeviceStore;
  cohorts: CohortStore;
  rollouts: RolloutStore;
  rolloutDevices: RolloutDeviceStore;
  reports: ReportStore;
}

type Deps = DirectoryDeps;

const summary = (d: Device) => ({
  deviceId: d.id,
  model: d.model,
  version: d.version,
  attributes: d.attributes,
  enrolledAt: toTimestamp(new Date(d.enrolledAt)),
  lastSeen: toTimestamp(new Date(d.lastSeen)),
});

export type DeviceSummary = ReturnType<typeof summary>;

/**
 * GET /v1/devices: devices in id order, filtered. The walk looks at no more
 * than SCAN_BUDGET devices per request; when it stops early it still returns
 * a cursor, so a page may hold fewer than `limit` devices (even none) while
 * `nextCursor` is not null. Clients page until `nextCursor` is null.
 */
export async function listDevices(q: DeviceQuery, deps: Deps): Promise<{ devices: DeviceSummary[]; nextCursor: string | null }> {
  if (q.cohort !== undefined && !deps.cohorts.exists(q.cohort)) throw new AppError('not_found', `no cohort ${q.cohort}`);
  if (q.rollout !== undefined && !(await deps.rollouts.summary(q.rollout))) throw new AppError('not_found', `no rollout ${q.rollout}`);
  const { rollout, state } = q;
  // A rollout narrows the walk to the devices it offered (by its state index when a state is given).
  const source = async (after: string, n: number): Promise<{ id: string; device: Device | undefined }[]> => {
    if (rollout === undefined) return (await deps.devices.after(after, n)).map((d) => ({ id: d.id, device: d }));
    // The page's devices in one read, never cached: an operator's listing keeps no device in the cache.
    const page = await deps.rolloutDevices.page(rollout, state, after, n);
    const found = await deps.devices.getMany(page.map((rd) => rd.deviceId));
    return page.map((rd) => ({ id: rd.deviceId, device: found.get(rd.deviceId) }));
  };
  const anyState = rollout === undefined && state !== undefined ? (state === 'silent' ? null : state) : undefined;
  const matches = async (d: Device): Promise<boolean> =>
    (q.model === undefined || d.model === q.model) &&
    (q.cohort === undefined || (await isMemberOf(deps.cohorts, d, q.cohort))) &&
    (anyState === undefined || (await deps.rolloutDevices.inStateAnywhere(d.id, anyState)));

  const found: Device[] = [];
  let after = q.cursor ?? '';
  let examined = 0;
  let exhausted = false;
  while (found.length < q.limit && examined < SCAN_BUDGET) {
    const n = Math.min(CHUNK, SCAN_BUDGET - examined);
    const batch = await source(after, n);
    let used = 0;
    for (const { id, device } of batch) {
      used++;
      after = id;
      if (device && (await matches(device))) found.push(device);
      if (found.length === q.limit) break;
    }
    examined += used;
    // A short batch read to its end: nothing is left after it.
    if (batch.length < n && used === batch.length) {
      exhausted = true;
      break;
    }
  }
  return { devices: found.map(summary), nextCursor: exhausted ? null : after };
}

const reportOut = (r: ReportView) => ({
  seq: r.seq,
  state: r.state,
  at: r.at,
  receivedAt: toTimestamp(new Date(r.receivedAt)),
  version: r.version,
  error: r.error,
});

/** GET /v1/devices/{deviceId}: the device, its cohorts, and per rollout that offered it its state and reports. */
export async function deviceDetail(id: string, deps: Deps) {
  const device = await deps.devices.inspect(id);
  if (!device) throw new AppError('not_found', `no device ${id}`);
  const inCohort = await completeMembershipOf(deps.cohorts, device);
  const reports = await deps.reports.ofDevice(id, REPORTS_PER_DEVICE);
  const rollouts = [];
  for (const r of await deps.rollouts.started()) {
    const rd = await deps.rolloutDevices.get(r.id, id);
    if (!rd) continue;
    const own = reports.filter((x) => x.rolloutId === r.id);
    rollouts.push({
      rolloutId: r.id,
      releaseId: r.releaseId,
      rolloutState: r.state,
      stage: rd.stage,
      offeredAt: toTimestamp(new Date(rd.offeredAt)),
      state: rd.state ?? 'silent',
      stateAt: rd.stateAt === null ? null : toTimestamp(new Date(rd.stateAt)),
      error: rd.state === null ? null : (own[0]?.error ?? (await deps.reports.latest(id, r.id))?.error ?? null),
      reports: own.map(reportOut),
    });
  }
  return {
    ...summary(device),
    // Read from the table: the device cache (device-cache.ts) serves the poll's fields, not report progress.
    lastSeq: ((seq) => (seq === undefined || seq < 0 ? null : seq))(await deps.devices.lastSeqOf(id)),
    cohorts: (await deps.cohorts.list()).map((c) => c.name).filter(inCohort),
    rollouts,
    // protocol §7 fleet lifecycle: null while in service.
    decommissionedAt: ((at) => (at == null ? null : toTimestamp(new Date(at))))(await deps.devices.decommissionedAt(id)),
  };
}
