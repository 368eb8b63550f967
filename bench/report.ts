import type { LoadResult } from './load.js';

/** The poll against raw node:http writing the same bytes, alternating rounds in one run. */
export interface HotPath {
  cold: { raw: LoadResult; poll: LoadResult };
  warm: { raw: LoadResult; poll: LoadResult }[];
  /** How many distinct requests (about one per device) the warm rounds cycle through. */
  warmDevices: number;
  /** Raw node:http with `workUs` of busy work per request, in each warm round beside the other two. */
  calibration: { workUs: number; rounds: LoadResult[] };
}

export interface BenchReport {
  engine: 'sqlite' | 'postgres';
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
  generator: 'wrk' | 'autocannon';
  /** PostgreSQL: the warm poll on two server processes sharing the database against one (same run, same list). */
  nodes?: { one: { rps: number; cpuUsPerRequest: number }; two: { rps: number; cpuUsPerRequest: number; perNodeRps: number[] }; refused: number };
  /** Why the two-node measurement did not complete, with what a node answered. */
  nodesError?: string;
  /** PostgreSQL: SIGKILL of the postmaster under single-report load, restarted on the same data folder. */
  pgKill?: { acknowledged: number; stored: number; lost: number; refused: number; errors: number; restartMs: number; recoveredMs: number };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (n: number) => fmt(n, n < 10 ? 2 : 1);
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');
const opt = (n: number | undefined, d = 0) => (n === undefined ? '–' : fmt(n, d));
/** The server's event-loop delay over a load: p99 / max, ms (the server probe's histogram). */
const loopOf = (x: LoadResult | undefined) => (x?.loopDelayMs ? `${ms(x.loopDelayMs.p99)} / ${ms(x.loopDelayMs.max)}` : '–');
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
    return `| ${x.name} | ${x.generator ?? '–'} | ${fmt(x.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${ratio(x.rps, base?.rps)} | ${base ? ratio(x.p99, base.p99) : '–'} | ${opt(x.cpuUsPerRequest)} (${opt(x.cpuSystemUsPerRequest)}) | ${opt(x.statementsPerRequest, 2)} | ${loopOf(x)} | ${fmt(x.ok)} | ${fmt(x.non2xx + x.errors)} |`;
  });
  const hotRows = r.curve.flatMap((c) =>
    [
      ['cold (starts with no device polled since start-up)', [c.hot.cold]] as const,
      [`warm (${fmt(c.hot.warmDevices)} devices that polled before)`, c.hot.warm] as const,
    ].map(([label, rounds]) => {
      const h = hotFigures([...rounds]);
      const perRound = rounds.map((x) => ratio(x.poll.rps, x.raw.rps)).join(' ');
      return `| ${fmt(c.devices)} | ${label} | ${fmt(h.rawRps)} | ${fmt(h.pollRps)} | ${ratio(h.pollRps, h.rawRps)} (${perRound}) | ${fmt(h.rawCpu)} (${fmt(h.rawSys)}) | ${fmt(h.pollCpu)} (${fmt(h.pollSys)}) | ${ratio(h.rawCpu, h.pollCpu)} | ${fmt(h.pollStatements, 2)} | ${rounds.map((x) => loopOf(x.poll)).join(' · ')} |`;
    }),
  );
  const calibration = r.curve.map((c) => {
    const h = hotFigures(c.hot.warm);
    const k = c.hot.calibration;
    const rps = sum(k.rounds, (x) => x.rps) / Math.max(1, k.rounds.length);
    const cpu = sum(k.rounds, (x) => (x.cpuUsPerRequest ?? 0) * (x.ok + x.non2xx)) / Math.max(1, sum(k.rounds, (x) => x.ok + x.non2xx));
    return `- ${fmt(c.devices)} devices, warm rounds: raw node:http with ${fmt(k.workUs)} µs of busy work per request answered ${fmt(rps)} req/s, **${ratio(rps, h.rawRps)} raw** at ${fmt(cpu)} µs CPU per request (the added work cost ${fmt(cpu - h.rawCpu)} µs); the poll spent ${fmt(h.pollCpu - h.rawCpu)} µs more than raw node:http`;
  });
  const warmP50 = (c: BenchReport['curve'][number]) => sum(c.hot.warm.map((w) => w.poll), (x) => x.p50) / Math.max(1, c.hot.warm.length);
  const curve = r.curve.map((c) => `| ${fmt(c.devices)} | ${fmt(c.poll.rps)} | ${ms(c.poll.p50)} | ${ms(c.poll.p99)} | ${opt(c.poll.cpuUsPerRequest)} | ${opt(c.poll.statementsPerRequest, 2)} | ${ms(warmP50(c))} | ${ms(c.status.p50)} | ${ms(c.status.p99)} |`);
  const first = r.curve[0];
  const last = r.curve[r.curve.length - 1];
  return [
    `## ${r.engine === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ${fmt(r.devices)} devices, ${r.connections} connections, ${r.durationSeconds} s per scenario (${r.node}; load: ${r.generator})`,
    '',
    '| scenario | load | req/s | p50 ms | p99 ms | req/s vs baseline | p99 vs baseline | server CPU µs/req (kernel) | SQL statements/req | server loop delay p99 / max ms | 2xx/3xx | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    ...[...Object.values(b), r.hot.cold.poll, ...r.hot.warm.map((w) => w.poll)].filter((x) => (x.drainedAfter?.ms ?? 0) > 1000).map((x) => `- after "${x.name}"${x === r.hot.cold.poll ? ' (cold round)' : ''}: its write-behind took ${fmt((x.drainedAfter as { ms: number }).ms / 1000, 1)} s more and ${fmt((x.drainedAfter as { statements: number }).statements)} statements to drain (counted in its CPU and statements)`),
    `- seed: ${fmt(r.seedMs / 1000, 1)} s for ${fmt(r.devices)} devices and ${fmt(r.seededReports)} reports`,
    `- server RSS after the run: ${fmt(r.rssBytes / 2 ** 20)} MiB`,
    `- database: ${fmt(r.dbBytesPerDevice)} bytes per device, ${fmt(r.dbBytesPerReport)} bytes per report (with indexes), ${fmt(r.dbFileBytes / 2 ** 20)} MiB ${r.engine === 'postgres' ? 'database' : 'file'}`,
    `- durability (after SIGKILL of the server): ${fmt(r.durability.acknowledged)} reports acknowledged with 2xx, ${fmt(r.durability.stored)} stored (the excess was in flight when the load stopped), ${fmt(r.durability.lost)} lost`,
    ...(r.pgKill
      ? [`- durability (SIGKILL of the PostgreSQL postmaster under report load, restarted on the same data folder in ${fmt(r.pgKill.restartMs)} ms; the server answered 200 again ${fmt(r.pgKill.recoveredMs)} ms after the load ended): ${fmt(r.pgKill.acknowledged)} acknowledged, ${fmt(r.pgKill.stored)} stored, **${fmt(r.pgKill.lost)} lost**; ${fmt(r.pgKill.refused)} refused (503 while it was down), ${fmt(r.pgKill.errors)} connection errors/timeouts`]
      : []),
    ...(r.nodes
      ? [`- two nodes on one PostgreSQL (warm poll, each node its own load generator with half the connections): ${fmt(r.nodes.two.rps)} req/s (${r.nodes.two.perNodeRps.map((x) => fmt(x)).join(' + ')}), ${fmt(r.nodes.two.cpuUsPerRequest, 1)} µs CPU per poll; one node, same list: ${fmt(r.nodes.one.rps)} req/s, ${fmt(r.nodes.one.cpuUsPerRequest, 1)} µs; two / one CPU per poll **${ratio(r.nodes.two.cpuUsPerRequest, r.nodes.one.cpuUsPerRequest)}** (target ≤ 1.1×); ${fmt(r.nodes.refused)} answers not 2xx/3xx`]
      : []),
    ...(r.nodesError ? [`- two nodes: not measured: ${r.nodesError}`] : []),
    '',
    '### Poll against raw node:http writing the same bytes (alternating rounds, each request another device)',
    '',
    '| devices | rounds | raw req/s | poll req/s | poll / raw req/s (per round) | raw CPU µs/req (kernel) | poll CPU µs/req (kernel) | raw / poll CPU | SQL statements/poll | poll server loop delay p99 / max ms (per round) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...hotRows,
    '',
    ...calibration,
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

/** SQLite against PostgreSQL from one run: the same scenarios, each beside its own engine's baselines. */
export function formatComparison(lite: BenchReport, pg: BenchReport): string {
  const rows = [
    ['poll, update offered (warm rounds, each request another device)', (r: BenchReport) => { const h = hotFigures(r.hot.warm); return { rps: h.pollRps, cpu: h.pollCpu, st: h.pollStatements, base: h.rawRps, baseCpu: h.rawCpu }; }],
    ['poll, update offered (cold round)', (r: BenchReport) => { const h = hotFigures([r.hot.cold]); return { rps: h.pollRps, cpu: h.pollCpu, st: h.pollStatements, base: h.rawRps, baseCpu: h.rawCpu }; }],
    ...(['poll304', 'reportSingle', 'reportBatch', 'enroll', 'status'] as const).map((k) =>
      [k, (r: BenchReport) => {
        const x = r.results[k];
        const base = { poll304: r.results.baselineGet, reportSingle: r.results.baselinePostSingle, reportBatch: r.results.baselinePostBatch, enroll: r.results.baselinePostSingle, status: undefined }[k];
        return x ? { rps: x.rps, cpu: x.cpuUsPerRequest ?? 0, st: x.statementsPerRequest ?? 0, base: base?.rps, baseCpu: base?.cpuUsPerRequest, p99: x.p99, name: x.name } : undefined;
      }] as const,
    ),
  ] as const;
  const lines = rows.map(([label, f]) => {
    const a = f(lite) as { rps: number; cpu: number; st: number; base?: number | undefined; baseCpu?: number | undefined; name?: string } | undefined;
    const b = f(pg) as typeof a;
    if (!a || !b) return '';
    return `| ${a.name ?? label} | ${fmt(a.rps)} (${ratio(a.rps, a.base)}) | ${fmt(b.rps)} (${ratio(b.rps, b.base)}) | **${ratio(b.rps, a.rps)}** | ${fmt(a.cpu)} | ${fmt(b.cpu)} | ${ratio(b.cpu, a.cpu)} | ${fmt(a.st, 2)} | ${fmt(b.st, 2)} |`;
  }).filter(Boolean);
  return [
    `## SQLite against PostgreSQL, ${fmt(lite.devices)} devices, same run`,
    '',
    'req/s in brackets: against that engine\'s same-run baseline (raw node:http for the polls, bare Express for the 304, express.json() for reports and enrollment).',
    '',
    '| scenario | SQLite req/s | PostgreSQL req/s | PG / SQLite req/s | SQLite CPU µs/req | PG CPU µs/req | PG / SQLite CPU | SQLite statements/req | PG statements/req |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
  ].join('\n');
}
