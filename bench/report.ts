import type { LoadResult } from './load.js';

/** The poll against raw node:http writing the same bytes, alternating rounds in one run. */
export interface HotPath {
  cold: { raw: LoadResult; poll: LoadResult };
  warm: { raw: LoadResult; poll: LoadResult }[];
  /** How many distinct requests (about one per device) the warm rounds cycle through. */
  warmDevices: number;
}

export interface BenchReport {
  devices: number;
  seedMs: number;
  seededReports: number;
  rssBytes: number;
  dbBytesPerDevice: number;
  dbBytesPerReport: number;
  dbFileBytes: number;
  results: Record<string, LoadResult>;
  hot: HotPath;
  durability: { acknowledged: number; stored: number; lost: number };
  curve: { devices: number; poll: LoadResult; status: LoadResult; hot: HotPath }[];
  connections: number;
  durationSeconds: number;
  totalSeconds: number;
  node: string;
  getGenerator: 'wrk' | 'autocannon';
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (n: number) => fmt(n, n < 10 ? 2 : 1);
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');
const opt = (n: number | undefined, d = 0) => (n === undefined ? '–' : fmt(n, d));
const sum = (xs: LoadResult[], f: (x: LoadResult) => number) => xs.reduce((n, x) => n + f(x), 0);

interface HotFigures { rawRps: number; pollRps: number; rawCpu: number; pollCpu: number; rawSys: number; pollSys: number; pollStatements: number }

/** Mean req/s, and CPU and statements per request weighted by requests, over some rounds. */
export function hotFigures(rounds: { raw: LoadResult; poll: LoadResult }[]): HotFigures {
  const raws = rounds.map((r) => r.raw);
  const polls = rounds.map((r) => r.poll);
  const weighted = (xs: LoadResult[], f: (x: LoadResult) => number | undefined) => sum(xs, (x) => (f(x) ?? 0) * (x.ok + x.non2xx)) / Math.max(1, sum(xs, (x) => x.ok + x.non2xx));
  return {
    rawRps: sum(raws, (x) => x.rps) / Math.max(1, raws.length),
    pollRps: sum(polls, (x) => x.rps) / Math.max(1, polls.length),
    rawCpu: weighted(raws, (x) => x.cpuUsPerRequest),
    pollCpu: weighted(polls, (x) => x.cpuUsPerRequest),
    rawSys: weighted(raws, (x) => x.cpuSystemUsPerRequest),
    pollSys: weighted(polls, (x) => x.cpuSystemUsPerRequest),
    pollStatements: weighted(polls, (x) => x.statementsPerRequest),
  };
}

/** Markdown tables: every figure beside its same-run baseline. */
export function formatReport(r: BenchReport): string {
  const b = r.results;
  const baselineOf: Record<string, LoadResult | undefined> = {
    pollOffered: b.baselineGet, pollNothing: b.baselineGet, poll304: b.baselineGet,
    reportSingle: b.baselinePostSingle, reportBatch: b.baselinePostBatch, enroll: b.baselinePostSingle,
  };
  const rows = Object.entries(b).map(([key, x]) => {
    const base = baselineOf[key];
    return `| ${x.name} | ${x.generator ?? '–'} | ${fmt(x.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${ratio(x.rps, base?.rps)} | ${base ? ratio(x.p99, base.p99) : '–'} | ${opt(x.cpuUsPerRequest)} (${opt(x.cpuSystemUsPerRequest)}) | ${opt(x.statementsPerRequest, 2)} | ${fmt(x.ok)} | ${fmt(x.non2xx + x.errors)} |`;
  });
  const hotRows = r.curve.flatMap((c) =>
    [
      ['cold (starts with no device polled since start-up)', [c.hot.cold]] as const,
      [`warm (${fmt(c.hot.warmDevices)} devices that polled before)`, c.hot.warm] as const,
    ].map(([label, rounds]) => {
      const h = hotFigures([...rounds]);
      const perRound = rounds.map((x) => ratio(x.poll.rps, x.raw.rps)).join(' ');
      return `| ${fmt(c.devices)} | ${label} | ${fmt(h.rawRps)} | ${fmt(h.pollRps)} | ${ratio(h.pollRps, h.rawRps)} (${perRound}) | ${fmt(h.rawCpu)} (${fmt(h.rawSys)}) | ${fmt(h.pollCpu)} (${fmt(h.pollSys)}) | ${ratio(h.rawCpu, h.pollCpu)} | ${fmt(h.pollStatements, 2)} |`;
    }),
  );
  const warmP50 = (c: BenchReport['curve'][number]) => sum(c.hot.warm.map((w) => w.poll), (x) => x.p50) / Math.max(1, c.hot.warm.length);
  const curve = r.curve.map((c) => `| ${fmt(c.devices)} | ${fmt(c.poll.rps)} | ${ms(c.poll.p50)} | ${ms(c.poll.p99)} | ${opt(c.poll.cpuUsPerRequest)} | ${opt(c.poll.statementsPerRequest, 2)} | ${ms(warmP50(c))} | ${ms(c.status.p50)} | ${ms(c.status.p99)} |`);
  const first = r.curve[0];
  const last = r.curve[r.curve.length - 1];
  return [
    `## ${fmt(r.devices)} devices, ${r.connections} connections, ${r.durationSeconds} s per scenario (${r.node}; GET load: ${r.getGenerator})`,
    '',
    '| scenario | load | req/s | p50 ms | p99 ms | req/s vs baseline | p99 vs baseline | server CPU µs/req (kernel) | SQL statements/req | 2xx/3xx | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- seed: ${fmt(r.seedMs / 1000, 1)} s for ${fmt(r.devices)} devices and ${fmt(r.seededReports)} reports`,
    `- server RSS after the run: ${fmt(r.rssBytes / 2 ** 20)} MiB`,
    `- database: ${fmt(r.dbBytesPerDevice)} bytes per device, ${fmt(r.dbBytesPerReport)} bytes per report, ${fmt(r.dbFileBytes / 2 ** 20)} MiB file`,
    `- durability (after SIGKILL): ${fmt(r.durability.acknowledged)} reports acknowledged with 2xx, ${fmt(r.durability.stored)} stored (the excess was in flight when the load stopped), ${fmt(r.durability.lost)} lost`,
    '',
    '### Poll against raw node:http writing the same bytes (alternating rounds, each request another device)',
    '',
    '| devices | rounds | raw req/s | poll req/s | poll / raw req/s (per round) | raw CPU µs/req (kernel) | poll CPU µs/req (kernel) | raw / poll CPU | SQL statements/poll |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...hotRows,
    '',
    '### Scale curve',
    '',
    '| devices | poll req/s | poll p50 ms | poll p99 ms | poll CPU µs | SQL statements/poll | warm-round poll p50 ms | status p50 ms | status p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...curve,
    '',
    first && last ? `- poll p50 at ${fmt(last.devices)} vs ${fmt(first.devices)} devices: ${ratio(last.poll.p50 || 0.01, first.poll.p50 || 0.01)}; CPU per poll: ${ratio(last.poll.cpuUsPerRequest ?? 0, first.poll.cpuUsPerRequest)}; warm rounds' poll p50: ${ratio(warmP50(last) || 0.01, warmP50(first) || 0.01)}` : '',
    `- total bench time: ${fmt(r.totalSeconds)} s`,
  ].join('\n');
}
