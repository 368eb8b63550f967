import { membershipOf } from '../cohorts/membership.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { ReportView } from '../reports/report-store.js';
import { toTimestamp } from '../trust/time.js';
import type { Device } from './device-store.js';

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

type Deps = Pick<AppContext, 'devices' | 'cohorts' | 'rollouts' | 'rolloutDevices' | 'reports'>;

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
export function listDevices(q: DeviceQuery, deps: Deps): { devices: DeviceSummary[]; nextCursor: string | null } {
  if (q.cohort !== undefined && !deps.cohorts.exists(q.cohort)) throw new AppError('not_found', `no cohort ${q.cohort}`);
  if (q.rollout !== undefined && !deps.rollouts.summary(q.rollout)) throw new AppError('not_found', `no rollout ${q.rollout}`);
  const { rollout, state } = q;
  // A rollout narrows the walk to the devices it offered (by its state index when a state is given).
  const source = (after: string, n: number): { id: string; device: Device | undefined }[] =>
    rollout !== undefined
      ? deps.rolloutDevices.page(rollout, state, after, n).map((rd) => ({ id: rd.deviceId, device: deps.devices.get(rd.deviceId) }))
      : deps.devices.after(after, n).map((d) => ({ id: d.id, device: d }));
  const anyState = rollout === undefined && state !== undefined ? (state === 'silent' ? null : state) : undefined;
  const matches = (d: Device): boolean =>
    (q.model === undefined || d.model === q.model) &&
    (q.cohort === undefined || membershipOf(deps.cohorts, d)(q.cohort)) &&
    (anyState === undefined || deps.rolloutDevices.inStateAnywhere(d.id, anyState));

  const found: Device[] = [];
  let after = q.cursor ?? '';
  let examined = 0;
  let exhausted = false;
  while (found.length < q.limit && examined < SCAN_BUDGET) {
    const n = Math.min(CHUNK, SCAN_BUDGET - examined);
    const batch = source(after, n);
    let used = 0;
    for (const { id, device } of batch) {
      used++;
      after = id;
      if (device && matches(device)) found.push(device);
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
export function deviceDetail(id: string, deps: Deps) {
  const device = deps.devices.get(id);
  if (!device) throw new AppError('not_found', `no device ${id}`);
  const inCohort = membershipOf(deps.cohorts, device);
  const reports = deps.reports.ofDevice(id, REPORTS_PER_DEVICE);
  const rollouts = deps.rollouts.started().flatMap((r) => {
    const rd = deps.rolloutDevices.get(r.id, id);
    if (!rd) return [];
    const own = reports.filter((x) => x.rolloutId === r.id);
    return [{
      rolloutId: r.id,
      releaseId: r.releaseId,
      rolloutState: r.state,
      stage: rd.stage,
      offeredAt: toTimestamp(new Date(rd.offeredAt)),
      state: rd.state ?? 'silent',
      stateAt: rd.stateAt === null ? null : toTimestamp(new Date(rd.stateAt)),
      error: rd.state === null ? null : (own[0]?.error ?? deps.reports.latest(id, r.id)?.error ?? null),
      reports: own.map(reportOut),
    }];
  });
  return {
    ...summary(device),
    // Read from the table: the device cache (device-cache.ts) serves the poll's fields, not report progress.
    lastSeq: ((seq) => (seq === undefined || seq < 0 ? null : seq))(deps.devices.lastSeqOf(id)),
    cohorts: deps.cohorts.list().map((c) => c.name).filter(inCohort),
    rollouts,
  };
}
