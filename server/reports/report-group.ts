import { together } from '../db/sql.js';
import type { Device, DeviceStore } from '../devices/device-store.js';
import { settingCounterPrefix, type CounterStore } from '../rollouts/rollout-counters.js';
import { rolloutDeviceKey, type RolloutDevice, type RolloutDeviceStore } from '../rollouts/rollout-device-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import { intervalMove, type TimelineStore } from '../rollouts/rollout-timeline.js';
import type { DeviceState, Report } from '../protocol/report-rules.js';
import { reportKey, type ReportStore, type StoredReport } from './report-store.js';

/** A report with what could fail on its own input already done, before it joins the shared transaction. */
export interface PreparedReport {
  report: Report;
  /** RFC 8785 bytes, stored and compared for seq idempotency. */
  body: string;
}

/** One request: an authenticated device's prepared reports, at the time it arrived. */
export interface IngestItem {
  device: Device;
  prepared: PreparedReport[];
  now: number;
  /**
   * The server numbers the reports (protocol §11: DDI feedback has no seq): each gets the
   * device's last seq + 1 as the group sees it, so concurrent feedback never collides.
   */
  assignSeq?: boolean;
  /**
   * Runs in the group's transaction once its writes are made (an edge's own record commits with it).
   * The group starts the records of different devices together (pipelined on PostgreSQL) and one
   * device's in the order of its requests; each plain statements only: no transaction or savepoint
   * of its own, which would interleave with another device's on the one connection.
   */
  alongside?: () => Promise<void>;
}

type RolloutSummary = Awaited<ReturnType<RolloutStore['summary']>>;

export interface GroupStores {
  devices: Pick<DeviceStore, 'lastSeqsOf' | 'setLastSeqs'>;
  reports: Pick<ReportStore, 'bodiesOf' | 'insertMany'>;
  rollouts: Pick<RolloutStore, 'summary'>;
  rolloutDevices: Pick<RolloutDeviceStore, 'getMany' | 'writeMany'>;
  counters: Pick<CounterStore, 'settingKeysOf' | 'addMany'>;
  timeline: Pick<TimelineStore, 'addMany'>;
}

/** One request's view of the group: the rows as the requests before it left them, and its own changes, kept or dropped whole. */
export interface Draft {
  lastSeqOf(deviceId: string): number | undefined;
  bodyOf(deviceId: string, seq: number): string | undefined;
  rollout(rolloutId: string): RolloutSummary;
  rolloutDevice(rolloutId: string, deviceId: string): RolloutDevice | undefined;
  hasCounter(rolloutId: string, key: string): boolean;
  /** How many counters exist for one setting key of a rollout (stored or created in this group). */
  settingCounters(rolloutId: string, key: string): number;
  count(rolloutId: string, key: string, delta: number): void;
  moved(rolloutId: string, from: DeviceState | null, to: DeviceState, at: number): void;
  insertReport(r: StoredReport): void;
  setRolloutDevice(d: RolloutDevice): void;
  setLastSeq(deviceId: string, seq: number): void;
  /** The request was accepted: its changes join the group's. */
  keep(): void;
}

const SEP = '\u0000';

/**
 * The rows a group of report requests reads and writes, loaded with one
 * statement per table (issue 20: per request they were ~14 round trips on
 * PostgreSQL) and written back the same way; the reads go together, and
 * so do the writes, so they cost a group two round trips (besides its
 * BEGIN and COMMIT, and the write-behind flushed before it). Reads happen
 * inside the group's transaction, under the fleet-writes lock on
 * PostgreSQL, so no other writer moves these rows between the read and
 * the write.
 */
export async function readGroup(stores: GroupStores, items: readonly IngestItem[]) {
  const deviceIds = new Set<string>();
  const reportKeys = new Map<string, { deviceId: string; seq: number }>();
  const pairs = new Map<string, { rolloutId: string; deviceId: string }>();
  const rolloutIds = new Set<string>();
  const withSettings = new Set<string>();
  for (const { device, prepared } of items) {
    deviceIds.add(device.id);
    for (const { report: r } of prepared) {
      reportKeys.set(reportKey(device.id, r.seq), { deviceId: device.id, seq: r.seq });
      pairs.set(rolloutDeviceKey(r.rolloutId, device.id), { rolloutId: r.rolloutId, deviceId: device.id });
      rolloutIds.add(r.rolloutId);
      if (r.settings && Object.keys(r.settings).length > 0) withSettings.add(r.rolloutId);
    }
  }
  // Independent reads, sent together (one round trip on PostgreSQL). A group's reports name a
  // rollout or two: one small read each.
  const ids = [...rolloutIds];
  const [lastSeqs, bodies, rds, settingKeys, ...summaryRows] = await together([
    stores.devices.lastSeqsOf([...deviceIds]),
    stores.reports.bodiesOf([...reportKeys.values()]),
    stores.rolloutDevices.getMany([...pairs.values()]),
    stores.counters.settingKeysOf([...withSettings]),
    ...ids.map((id) => stores.rollouts.summary(id)),
  ]);
  const summaries = new Map<string, RolloutSummary>(ids.map((id, i) => [id, summaryRows[i]]));

  // What the kept requests changed; written by write().
  const reports: StoredReport[] = [];
  const changedRds = new Map<string, RolloutDevice>();
  const changedSeqs = new Map<string, number>();
  const counterMoves = new Map<string, { rolloutId: string; key: string; delta: number }>();
  const intervalMoves = new Map<string, { rolloutId: string; second: number; terminal: number; failures: number }>();
  /** Rollouts whose terminal or failure totals the kept requests changed: all the §5 halt rule reads. */
  const haltFiguresMoved = new Set<string>();

  const addCounter = (into: Map<string, { rolloutId: string; key: string; delta: number }>, rolloutId: string, key: string, delta: number): void => {
    const k = `${rolloutId}${SEP}${key}`;
    const m = into.get(k);
    if (m) m.delta += delta;
    else into.set(k, { rolloutId, key, delta });
  };

  const draft = (): Draft => {
    const own = {
      reports: [] as StoredReport[],
      bodies: new Map<string, string>(),
      rds: new Map<string, RolloutDevice>(),
      seqs: new Map<string, number>(),
      counters: new Map<string, { rolloutId: string; key: string; delta: number }>(),
      intervals: [] as { rolloutId: string; second: number; terminal: number; failures: number }[],
    };
    const existsCounter = (rolloutId: string, key: string): boolean => {
      const k = `${rolloutId}${SEP}${key}`;
      return (settingKeys.get(rolloutId)?.has(key) ?? false) || counterMoves.has(k) || own.counters.has(k);
    };
    return {
      lastSeqOf: (id) => own.seqs.get(id) ?? changedSeqs.get(id) ?? lastSeqs.get(id),
      bodyOf: (id, seq) => {
        const k = reportKey(id, seq);
        return own.bodies.get(k) ?? bodies.get(k);
      },
      rollout: (id) => summaries.get(id),
      rolloutDevice: (rolloutId, deviceId) => {
        const k = rolloutDeviceKey(rolloutId, deviceId);
        return own.rds.get(k) ?? changedRds.get(k) ?? rds.get(k);
      },
      hasCounter: existsCounter,
      settingCounters: (rolloutId, key) => {
        // Only setting counters matter here, and each is either stored (settingKeys) or moved in this group.
        const prefix = settingCounterPrefix(key);
        const seen = new Set<string>();
        for (const k of settingKeys.get(rolloutId) ?? []) if (k.startsWith(prefix)) seen.add(k);
        for (const m of [...counterMoves.values(), ...own.counters.values()]) if (m.rolloutId === rolloutId && m.key.startsWith(prefix)) seen.add(m.key);
        return seen.size;
      },
      count: (rolloutId, key, delta) => {
        if (delta !== 0) addCounter(own.counters, rolloutId, key, delta);
      },
      moved: (rolloutId, from, to, at) => {
        const m = intervalMove(from, to, at);
        if (m) own.intervals.push({ rolloutId, ...m });
      },
      insertReport: (r) => {
        own.reports.push(r);
        own.bodies.set(reportKey(r.deviceId, r.seq), r.body);
      },
      setRolloutDevice: (d) => void own.rds.set(rolloutDeviceKey(d.rolloutId, d.deviceId), d),
      setLastSeq: (id, seq) => void own.seqs.set(id, seq),
      keep: () => {
        reports.push(...own.reports);
        for (const [k, v] of own.bodies) bodies.set(k, v);
        for (const [k, v] of own.rds) changedRds.set(k, v);
        for (const [k, v] of own.seqs) changedSeqs.set(k, v);
        for (const m of own.counters.values()) addCounter(counterMoves, m.rolloutId, m.key, m.delta);
        for (const m of own.intervals) {
          haltFiguresMoved.add(m.rolloutId);
          const k = `${m.rolloutId}${SEP}${m.second}`;
          const sum = intervalMoves.get(k);
          if (sum) {
            sum.terminal += m.terminal;
            sum.failures += m.failures;
          } else intervalMoves.set(k, { ...m });
        }
      },
    };
  };

  return {
    draft,
    /** Everything the kept requests changed: one statement per table, each table's apart from the others', so sent together. */
    async write(): Promise<void> {
      await together([
        stores.reports.insertMany(reports),
        stores.rolloutDevices.writeMany([...changedRds.values()]),
        stores.devices.setLastSeqs([...changedSeqs].map(([id, seq]) => ({ id, seq }))),
        stores.counters.addMany([...counterMoves.values()]),
        stores.timeline.addMany([...intervalMoves.values()].filter((m) => m.terminal !== 0 || m.failures !== 0)),
      ]);
    },
    /**
     * Rollouts whose terminal or failure totals moved (an interval move: rollout-timeline.ts), the only
     * figures the halt rule judges (report-rules.ts failureFigures): auto-halt looks at these after the
     * commit. A group of progress reports (received, downloading, …) cannot cross a threshold, so it
     * costs no reads after its commit.
     */
    haltFiguresMoved: (): ReadonlySet<string> => haltFiguresMoved,
  };
}
