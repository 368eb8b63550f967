import { mkdirSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startChild, type Child } from './child.js';
import { runLoad, runSequential, type LoadResult, type LoadSpec } from './load.js';
import { REPORTS_PER_REQUEST, serverScenarios, targetDevice } from './scenarios.js';
import { deviceIdOf, deviceTokenOf, seed, type SeedResult } from './seed.js';
import { formatComparison, formatReport, type BenchReport, type HotPath } from './report.js';
import { runWrk, wrkAvailable } from './wrk.js';
import { pgValue, startCluster, type Cluster } from './postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    devices: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '64' },
    'cpu-prof': { type: 'boolean', default: false },
    curve: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    scenarios: { type: 'string' },
    autocannon: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    db: { type: 'string', default: 'sqlite' },
  },
});
if (!['sqlite', 'postgres', 'both'].includes(args.db as string)) throw new Error(`--db sqlite|postgres|both, not ${args.db}`);
type Engine = 'sqlite' | 'postgres';
const engines: Engine[] = args.db === 'both' ? ['sqlite', 'postgres'] : [args.db as Engine];

const devices = Number(args.devices ?? (args.quick ? 10_000 : 1_000_000));
const duration = Number(args.duration ?? (args.quick ? 3 : 10));
const connections = Number(args.connections);
const curveSizes = args.curve
  ? args.curve.split(',').map(Number)
  : args.db !== 'sqlite' ? [] : args.quick ? [1_000, 10_000] : args.full ? [10_000, 100_000, 1_000_000, 10_000_000] : [10_000, 100_000, 1_000_000];
const rounds = Number(args.rounds);
/** The busy work per request of the hot path's calibration server (docs/benchmarks.md: what a req/s ratio leaves for the poll). */
const CALIBRATION_WORK_US = 20;
// wrk where it is installed, GET and POST alike (it steals far less CPU from the server than autocannon); autocannon otherwise.
const useWrk = !args.autocannon && wrkAvailable();
/** Distinct requests of a POST scenario under wrk: more than a 10 s run sends at any rate this machine reaches. */
const POST_LIST = 100_000;
const workDir = mkdtempSync(join(tmpdir(), 'ota-bench-'));
const resultsDir = resolve(here, '../../bench/results');
const log = (m: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

function serverEnv(s: SeedResult, databaseUrl?: string): NodeJS.ProcessEnv {
  return {
    ...(databaseUrl ? { OTA_DATABASE_URL: databaseUrl } : {}),
    OTA_DATA_DIR: s.dataDir, OTA_TRUST_DIR: s.trustDir, PORT: '0', HOST: '127.0.0.1', OTA_LOG_LEVEL: 'warn', OTA_DEMO: 'false',
    // The bench drives one enroller and one QA token far beyond an operator's normal rate.
    OTA_RATE_LIMIT_PER_MINUTE: '100000000', OTA_AUTH_FAILURES_PER_MINUTE: '100000000',
    OTA_CENSUS_INTERVAL_SECONDS: '86400',
  };
}

// Counts SQLite statements and takes per-scenario profiles for the figures; the server's own code is unchanged.
const startServer = (s: SeedResult, databaseUrl?: string): Promise<Child> =>
  startChild(join(here, '../server/main.js'), [], serverEnv(s, databaseUrl), ['--import', pathToFileURL(join(here, 'server-probe.js')).href]);

let profiles = 0;

/**
 * Waits until the server's write-behind has drained what a load left (statements stop moving:
 * fewer than 5 in 500 ms), so the load's CPU and statements include it and the next scenario starts clean.
 * Returns how long that took and how many statements it ran (at most 120 s).
 */
async function settle(child: Child): Promise<{ ms: number; statements: number }> {
  const t0 = Date.now();
  const first = (await child.statements()) ?? 0;
  let last = first;
  while (Date.now() - t0 < 120_000) {
    await new Promise((r) => setTimeout(r, 500));
    const now = (await child.statements()) ?? 0;
    if (now - last < 5) break;
    last = now;
  }
  return { ms: Date.now() - t0, statements: last - first };
}

/** Sends a scenario's first requests once and stops the bench unless each is answered `status` (a 204 is cheaper than the 200 it stands for). */
async function expectAnswers(spec: LoadSpec, status: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const r = spec.request(i);
    const res = await fetch(`${spec.url}${r.path}`, { method: spec.method ?? 'GET', headers: r.headers, body: r.body });
    await res.arrayBuffer();
    if (res.status !== status) throw new Error(`${spec.name}: request ${i} was answered ${res.status}, not ${status}`);
  }
}

/** One load run on `child`, with the child's CPU time and (for the server) SQLite statements per answered request. */
async function measured(child: Child, spec: LoadSpec & { sequential?: number }, listLength: number, countStatements: boolean): Promise<LoadResult> {
  // --cpu-prof: one profile per server scenario, of that scenario alone.
  const profile = args['cpu-prof'] && countStatements ? join(resultsDir, `prof-${listLength}-${++profiles}-${spec.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`) : undefined;
  if (spec.expectStatus !== undefined) await expectAnswers(spec, spec.expectStatus);
  if (profile) await child.profile({ profile: 'start' });
  const s0 = countStatements ? await child.statements() : undefined;
  if (countStatements) await child.loopDelay();
  const c0 = child.cpuMicros();
  const r = spec.sequential
    ? await runSequential({ ...spec, count: spec.sequential })
    : useWrk
      ? // A POST must not wrap its list within the run (a report's seq, an enrolled id, would repeat): 100,000 distinct ones.
        await runWrk(spec, workDir, (spec.method ?? 'GET') === 'GET' ? listLength : Math.max(listLength, POST_LIST))
      : await runLoad(spec);
  // The write-behind of what this load observed runs every 100 ms: count it with the load that caused it,
  // waiting until it has drained (on PostgreSQL it can trail the load by seconds: a round trip per row).
  await new Promise((done) => setTimeout(done, 250));
  const settled = countStatements ? await settle(child) : undefined;
  if (settled && settled.ms > 1000) log(`  (its write-behind took ${(settled.ms / 1000).toFixed(1)} s more and ${settled.statements} statements to drain)`);
  const c1 = child.cpuMicros();
  const s1 = countStatements ? await child.statements() : undefined;
  const loopDelayMs = countStatements ? await child.loopDelay() : undefined;
  if (profile) await child.profile({ profile: 'stop', file: profile });
  const answered = r.ok + r.non2xx;
  return {
    ...r,
    ...(answered
      ? { cpuUsPerRequest: (c1.user + c1.system - c0.user - c0.system) / answered, cpuSystemUsPerRequest: (c1.system - c0.system) / answered }
      : {}),
    ...(answered && s0 !== undefined && s1 !== undefined ? { statementsPerRequest: (s1 - s0) / answered } : {}),
    ...(settled ? { drainedAfter: settled } : {}),
    ...(loopDelayMs ? { loopDelayMs } : {}),
  };
}

/**
 * The poll against node:http writing the same bytes, alternating so both
 * see the same neighbours on a shared machine; each request names another
 * device (id and token) in both. The first round is cold: every device
 * polls for the first time since the server started (device cache misses,
 * first offers written). The warm rounds cycle through the devices the cold
 * round polled, so each has polled before, as in a fleet polling every 15
 * minutes against a server that has been up longer than that.
 */
async function hotPath(server: Child, raw: Child, worked: Child, poll: LoadSpec, devicesInFleet: number): Promise<HotPath> {
  const round = async (label: string, listLength: number) => {
    log(`hot path ${label}: raw node:http`);
    const r = await measured(raw, { ...poll, name: 'raw node:http, cached bytes', url: raw.url }, listLength, false);
    log(`hot path ${label}: poll`);
    const p = await measured(server, poll, listLength, true);
    return { raw: r, poll: p };
  };
  const cold = await round('cold round', devicesInFleet);
  const polled = Math.min(devicesInFleet, cold.poll.requests);
  const warm = [];
  const calibration: LoadResult[] = [];
  for (let r = 0; r < rounds; r++) {
    warm.push(await round(`warm round ${r + 1}/${rounds}`, polled));
    log(`hot path warm round ${r + 1}/${rounds}: raw node:http with ${CALIBRATION_WORK_US} µs of work`);
    calibration.push(await measured(worked, { ...poll, name: `raw node:http, ${CALIBRATION_WORK_US} µs of work`, url: worked.url }, polled, false));
  }
  return { cold, warm, warmDevices: polled, calibration: { workUs: CALIBRATION_WORK_US, rounds: calibration } };
}

async function collectEtags(url: string, s: SeedResult, count: number): Promise<{ etags: Map<number, string>; body: string }> {
  const etags = new Map<number, string>();
  let body = '';
  for (let k = 0; k < count; k++) {
    const i = targetDevice(k, s.devices);
    const res = await fetch(`${url}/v1/devices/${deviceIdOf(i)}/update?version=1.4.1`, { headers: { authorization: `Bearer ${deviceTokenOf(i)}` } });
    body = await res.text();
    etags.set(i, res.headers.get('etag') as string);
  }
  return { etags, body };
}

let cluster: Cluster | undefined;
let databases = 0;

/** The scenarios' per-request builders, recording the highest request index used (a later load continues after it). */
function tracked(spec: LoadSpec & { sequential?: number }, from = 0): LoadSpec & { sequential?: number; used: () => number } {
  let top = from - 1;
  return { ...spec, request: (k) => { top = Math.max(top, from + k); return spec.request(from + k); }, used: () => top + 1 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the server answers `path` with `status` (after the database came back). */
async function until(url: string, token: string, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const r = await fetch(`${url}/v1/rollouts/bench-system/status`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    if (r?.status === 200) return Date.now() - t0;
    await sleep(200);
  }
  throw new Error(`the server did not answer 200 within ${ms} ms after PostgreSQL restarted`);
}

/** GET load on several servers at once (each its own load generator), CPU per answered request over all of them. */
async function pollOn(servers: Child[], spec: LoadSpec, connectionsEach: number, listLength: number): Promise<{ rps: number; cpuUsPerRequest: number; answered: number; perNode: LoadResult[] }> {
  const c0 = servers.map((x) => x.cpuMicros());
  const rs = await Promise.all(
    servers.map((x) => {
      const one = { ...spec, url: x.url, connections: connectionsEach };
      return useWrk ? runWrk(one, workDir, listLength) : runLoad(one);
    }),
  );
  await sleep(250);
  const cpu = servers.reduce((n, x, k) => { const c = x.cpuMicros(); return n + c.user + c.system - c0[k]!.user - c0[k]!.system; }, 0);
  const answered = rs.reduce((n, r) => n + r.ok + r.non2xx, 0);
  return { rps: rs.reduce((n, r) => n + r.rps, 0), cpuUsPerRequest: cpu / Math.max(1, answered), answered, perNode: rs };
}

async function measureFleet(size: number, scenarioNames: string[], withBaselines: boolean, engine: Engine): Promise<Partial<BenchReport>> {
  const databaseUrl = engine === 'postgres' ? await (cluster as Cluster).createDatabase(`fleet_${size}_${++databases}`) : undefined;
  log(`${engine}: seeding ${size.toLocaleString()} devices`);
  const s = await seed(join(workDir, `fleet-${engine}-${size}`), size, databaseUrl ? { databaseUrl } : {});
  log(`seeded in ${(s.seedMs / 1000).toFixed(1)} s: ${s.reports.toLocaleString()} reports`);
  const storedReports = async (): Promise<number> => {
    if (databaseUrl) return pgValue(databaseUrl, 'SELECT COUNT(*) AS n FROM reports');
    const db = new Database(join(s.dataDir, 'ota.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM reports').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  let server = await startServer(s, databaseUrl);
  const results: Record<string, LoadResult> = {};
  const extra: Partial<BenchReport> = {};
  try {
    const { etags, body } = await collectEtags(server.url, s, Math.min(2000, s.devices));
    // Let the first offers' write-behind land before measuring.
    await sleep(1500);
    const scenarios = serverScenarios({ seed: s, url: server.url, connections, durationSeconds: duration, etags, runTag: String(Date.now()) });
    const started: Child[] = [];
    let hot: HotPath;
    try {
      const raw = await startChild(join(here, 'raw-baseline-server.js'), [body], {});
      started.push(raw);
      const worked = await startChild(join(here, 'raw-baseline-server.js'), [body, String(CALIBRATION_WORK_US)], {});
      started.push(worked);
      hot = await hotPath(server, raw, worked, scenarios.pollOffered!, size);
    } finally {
      await Promise.allSettled(started.map((c) => c.stop()));
    }
    if (withBaselines) {
      const baseline = await startChild(join(here, 'baseline-server.js'), [body], {});
      try {
        log('baseline: bare Express, cached bytes');
        // Same per-device paths and tokens as the poll; the baseline answers every GET alike.
        results.baselineGet = await measured(baseline, { ...scenarios.pollOffered!, name: 'baseline: Express 5, cached bytes', url: baseline.url }, size, false);
        log('baseline: Express + express.json()');
        const post = serverScenarios({ seed: s, url: baseline.url, connections, durationSeconds: duration, etags, runTag: 'b' });
        results.baselinePostSingle = await measured(baseline, { ...post.reportSingle!, name: 'baseline: express.json(), 1 report', request: (k) => ({ ...post.reportSingle!.request(k), path: '/json' }) }, size, false);
        results.baselinePostBatch = await measured(baseline, { ...post.reportBatch!, name: 'baseline: express.json(), 10 reports', request: (k) => ({ ...post.reportBatch!.request(k), path: '/json' }) }, size, false);
      } finally {
        await baseline.stop();
      }
    }
    const reportSingle = tracked(scenarios.reportSingle!);
    for (const name of scenarioNames) {
      log(`${engine}, ${size.toLocaleString()} devices: ${scenarios[name]!.name}`);
      results[name] = await measured(server, name === 'reportSingle' ? reportSingle : scenarios[name]!, size, true);
    }
    const rss = server.rssBytes();
    // Durability: kill -9, then every acknowledged report must be in the database.
    server.proc.kill('SIGKILL');
    await new Promise((r) => server.proc.once('exit', r));
    const acknowledged = Object.entries(REPORTS_PER_REQUEST).reduce((n, [k, per]) => n + (results[k]?.ok ?? 0) * per, 0);
    const stored = (await storedReports()) - s.reports;
    const dbFileBytes = databaseUrl ? await pgValue(databaseUrl, 'SELECT pg_database_size(current_database()) AS n') : statSync(join(s.dataDir, 'ota.db')).size;

    if (databaseUrl && withBaselines) {
      // Several nodes (protocol §9): two server processes on this database, each its own port and load generator.
      log('postgres: two nodes on one database');
      server = await startServer(s, databaseUrl);
      const second = await startServer(s, databaseUrl);
      const list = Math.min(size, hot.warmDevices);
      try {
        const poll = scenarios.pollOffered!;
        // Both nodes see every device of the list before measuring (a balancer sends a device to any node):
        // warm-up rounds until each node has answered at least the whole list once.
        for (let round = 0; round < 6; round++) {
          const w = await pollOn([server, second], { ...poll, durationSeconds: Math.max(3, Math.ceil(duration / 2)) }, Math.max(1, connections / 2), list);
          if (w.perNode.every((x) => x.requests >= list)) break;
        }
        await Promise.all([settle(server), settle(second)]);
        const two = await pollOn([server, second], poll, Math.max(1, connections / 2), list);
        await Promise.all([settle(server), settle(second)]);
        const one = await pollOn([server], poll, connections, list);
        const refused = [...two.perNode, ...one.perNode].reduce((n, x) => n + x.non2xx + x.errors, 0);
        extra.nodes = { one: { rps: one.rps, cpuUsPerRequest: one.cpuUsPerRequest }, two: { rps: two.rps, cpuUsPerRequest: two.cpuUsPerRequest, perNodeRps: two.perNode.map((x) => x.rps) }, refused };
      } catch (e) {
        // Not fatal: the kill of PostgreSQL below still runs. Say what a node answers, for the write-up.
        const sample = scenarios.pollOffered!.request(0);
        const answers = await Promise.all([server, second].map((x) => fetch(`${x.url}${sample.path}`, { headers: sample.headers }).then(async (r) => `${r.status} ${(await r.text()).slice(0, 200)}`, (err: unknown) => String(err))));
        extra.nodesError = `${String(e).slice(0, 300)}; a sample poll answers: ${answers.join(' | ')}`;
        log(`two nodes failed: ${extra.nodesError}`);
      } finally {
        await second.stop();
      }
      // PostgreSQL itself dies under report load: every report acknowledged with 2xx must be there after its restart.
      log('postgres: SIGKILL of the postmaster under report load');
      await settle(server);
      const before = await storedReports();
      const spec = tracked({ ...scenarios.reportSingle!, url: server.url }, reportSingle.used());
      const load = runLoad(spec);
      await sleep((duration * 1000) / 3);
      const pid = (cluster as Cluster).kill();
      log(`killed postmaster ${pid}; restarting it in 2 s`);
      await sleep(2000);
      const r0 = Date.now();
      await (cluster as Cluster).restart();
      const restartMs = Date.now() - r0;
      const r = await load;
      const recoveredMs = await until(server.url, s.tokens.qa, 30_000);
      await sleep(500);
      const after = await storedReports();
      extra.pgKill = { acknowledged: r.ok, stored: after - before, lost: Math.max(0, r.ok - (after - before)), refused: r.non2xx, errors: r.errors, restartMs, recoveredMs };
    }
    return {
      engine, devices: size, seedMs: s.seedMs, seededReports: s.reports, rssBytes: rss,
      dbBytesPerDevice: s.dbBytesDevices / size, dbBytesPerReport: s.reports ? s.dbBytesReports / s.reports : 0,
      dbFileBytes,
      results, hot, durability: { acknowledged, stored, lost: Math.max(0, acknowledged - stored) },
      ...extra,
    };
  } finally {
    await server.stop();
    if (!args.keep) rmSync(s.dataDir, { recursive: true, force: true });
  }
}

async function measureEngine(engine: Engine, all: string[]): Promise<BenchReport> {
  const started = Date.now();
  const main = await measureFleet(devices, all, true, engine);
  const curve: BenchReport['curve'] = [];
  for (const size of curveSizes.length ? curveSizes : [devices]) {
    if (size === devices) {
      curve.push({ devices: size, poll: main.results!.pollOffered!, status: main.results!.status!, hot: main.hot! });
      continue;
    }
    const point = await measureFleet(size, ['pollOffered', 'status'], false, engine);
    curve.push({ devices: size, poll: point.results!.pollOffered!, status: point.results!.status!, hot: point.hot! });
  }
  return { ...main, curve, connections, durationSeconds: duration, totalSeconds: (Date.now() - started) / 1000, node: process.version, generator: useWrk ? 'wrk' : 'autocannon' } as BenchReport;
}

// Ctrl-C: the throwaway PostgreSQL goes with the bench.
process.once('SIGINT', () => {
  void (cluster?.stop() ?? Promise.resolve()).finally(() => {
    if (cluster && !args.keep) rmSync(cluster.dir, { recursive: true, force: true });
    if (!args.keep) rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
});

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const everything = ['pollOffered', 'ddiPoll', 'menderNext', 'pollNothing', 'poll304', 'reportSingle', 'reportBatch', 'enroll', 'status', 'deviceList'];
  // --scenarios a,b: a subset while profiling one path (the curve needs pollOffered and status).
  const all = args.scenarios ? [...new Set([...args.scenarios.split(','), 'pollOffered', 'status'])] : everything;
  for (const name of all) if (!everything.includes(name)) throw new Error(`unknown scenario ${name}; one of ${everything.join(', ')}`);
  const reports: BenchReport[] = [];
  try {
    if (engines.includes('postgres')) {
      // Its own temporary folder (the postgres user cannot enter the bench's 0700 work folder).
      cluster = await startCluster(mkdtempSync(join(tmpdir(), 'ota-bench-pg-')));
      log(`postgres: throwaway cluster at ${cluster.url}`);
    }
    for (const engine of engines) reports.push(await measureEngine(engine, all));
  } finally {
    await cluster?.stop();
    if (cluster && !args.keep) rmSync(cluster.dir, { recursive: true, force: true });
    if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  }
  const file = join(resultsDir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  for (const r of reports) console.log(`${formatReport(r)}\n`);
  if (reports.length === 2) console.log(formatComparison(reports[0]!, reports[1]!));
  console.log(`\nraw figures: ${file}`);
  const lost = reports.reduce((n, r) => n + r.durability.lost + (r.pgKill?.lost ?? 0), 0);
  if (lost !== 0) {
    console.error(`DURABILITY FAILURE: ${lost} acknowledged reports are not in the database`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
