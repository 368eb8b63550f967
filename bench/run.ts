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
import { formatReport, type BenchReport, type HotPath } from './report.js';
import { runWrk, wrkAvailable } from './wrk.js';

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
  },
});

const devices = Number(args.devices ?? (args.quick ? 10_000 : 1_000_000));
const duration = Number(args.duration ?? (args.quick ? 3 : 10));
const connections = Number(args.connections);
const curveSizes = args.curve
  ? args.curve.split(',').map(Number)
  : args.quick ? [1_000, 10_000] : args.full ? [10_000, 100_000, 1_000_000, 10_000_000] : [10_000, 100_000, 1_000_000];
const rounds = Number(args.rounds);
// wrk for the GET scenarios where it is installed (it steals far less CPU from the server); autocannon otherwise.
const useWrk = !args.autocannon && wrkAvailable();
const workDir = mkdtempSync(join(tmpdir(), 'ota-bench-'));
const resultsDir = resolve(here, '../../bench/results');
const log = (m: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

function serverEnv(s: SeedResult): NodeJS.ProcessEnv {
  return {
    OTA_DATA_DIR: s.dataDir, OTA_TRUST_DIR: s.trustDir, PORT: '0', HOST: '127.0.0.1', OTA_LOG_LEVEL: 'warn', OTA_DEMO: 'false',
    // The bench drives one enroller and one QA token far beyond an operator's normal rate.
    OTA_RATE_LIMIT_PER_MINUTE: '100000000', OTA_AUTH_FAILURES_PER_MINUTE: '100000000',
    OTA_CENSUS_INTERVAL_SECONDS: '86400',
  };
}

// Counts SQLite statements and takes per-scenario profiles for the figures; the server's own code is unchanged.
const startServer = (s: SeedResult): Promise<Child> =>
  startChild(join(here, '../server/main.js'), [], serverEnv(s), ['--import', pathToFileURL(join(here, 'server-probe.js')).href]);

let profiles = 0;

/** One load run on `child`, with the child's CPU time and (for the server) SQLite statements per answered request. */
async function measured(child: Child, spec: LoadSpec & { sequential?: number }, listLength: number, countStatements: boolean): Promise<LoadResult> {
  // --cpu-prof: one profile per server scenario, of that scenario alone.
  const profile = args['cpu-prof'] && countStatements ? join(resultsDir, `prof-${listLength}-${++profiles}-${spec.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`) : undefined;
  if (profile) await child.profile({ profile: 'start' });
  const s0 = countStatements ? await child.statements() : undefined;
  const c0 = child.cpuMicros();
  const r = spec.sequential
    ? await runSequential({ ...spec, count: spec.sequential })
    : useWrk && (spec.method ?? 'GET') === 'GET'
      ? await runWrk(spec, workDir, listLength)
      : await runLoad(spec);
  // The write-behind of what this load observed runs every 100 ms: count it with the load that caused it.
  await new Promise((done) => setTimeout(done, 250));
  const c1 = child.cpuMicros();
  const s1 = countStatements ? await child.statements() : undefined;
  if (profile) await child.profile({ profile: 'stop', file: profile });
  const answered = r.ok + r.non2xx;
  return {
    ...r,
    ...(answered
      ? { cpuUsPerRequest: (c1.user + c1.system - c0.user - c0.system) / answered, cpuSystemUsPerRequest: (c1.system - c0.system) / answered }
      : {}),
    ...(answered && s0 !== undefined && s1 !== undefined ? { statementsPerRequest: (s1 - s0) / answered } : {}),
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
async function hotPath(server: Child, raw: Child, poll: LoadSpec, devicesInFleet: number): Promise<HotPath> {
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
  for (let r = 0; r < rounds; r++) warm.push(await round(`warm round ${r + 1}/${rounds}`, polled));
  return { cold, warm, warmDevices: polled };
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

async function measureFleet(size: number, scenarioNames: string[], withBaselines: boolean): Promise<Partial<BenchReport>> {
  log(`seeding ${size.toLocaleString()} devices`);
  const s = await seed(join(workDir, `fleet-${size}`), size);
  log(`seeded in ${(s.seedMs / 1000).toFixed(1)} s: ${s.reports.toLocaleString()} reports`);
  const server = await startServer(s);
  const results: Record<string, LoadResult> = {};
  try {
    const { etags, body } = await collectEtags(server.url, s, Math.min(2000, s.devices));
    // Let the first offers' write-behind land before measuring.
    await new Promise((r) => setTimeout(r, 1500));
    const scenarios = serverScenarios({ seed: s, url: server.url, connections, durationSeconds: duration, etags, runTag: String(Date.now()) });
    const raw = await startChild(join(here, 'raw-baseline-server.js'), [body], {});
    let hot: HotPath;
    try {
      hot = await hotPath(server, raw, scenarios.pollOffered!, size);
    } finally {
      await raw.stop();
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
    for (const name of scenarioNames) {
      log(`${size.toLocaleString()} devices: ${scenarios[name]!.name}`);
      results[name] = await measured(server, scenarios[name]!, size, true);
    }
    const rss = server.rssBytes();
    // Durability: kill -9, then every acknowledged report must be in the file.
    server.proc.kill('SIGKILL');
    await new Promise((r) => server.proc.once('exit', r));
    const acknowledged = Object.entries(REPORTS_PER_REQUEST).reduce((n, [k, per]) => n + (results[k]?.ok ?? 0) * per, 0);
    const db = new Database(join(s.dataDir, 'ota.db'), { readonly: true });
    const stored = (db.prepare('SELECT COUNT(*) AS n FROM reports').get() as { n: number }).n - s.reports;
    db.close();
    return {
      devices: size, seedMs: s.seedMs, seededReports: s.reports, rssBytes: rss,
      dbBytesPerDevice: s.dbBytesDevices / size, dbBytesPerReport: s.reports ? s.dbBytesReports / s.reports : 0,
      dbFileBytes: statSync(join(s.dataDir, 'ota.db')).size,
      results, hot, durability: { acknowledged, stored, lost: Math.max(0, acknowledged - stored) },
    };
  } finally {
    await server.stop();
    if (!args.keep) rmSync(s.dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const everything = ['pollOffered', 'pollNothing', 'poll304', 'reportSingle', 'reportBatch', 'enroll', 'status', 'deviceList'];
  // --scenarios a,b: a subset while profiling one path (the curve needs pollOffered and status).
  const all = args.scenarios ? [...new Set([...args.scenarios.split(','), 'pollOffered', 'status'])] : everything;
  for (const name of all) if (!everything.includes(name)) throw new Error(`unknown scenario ${name}; one of ${everything.join(', ')}`);
  const main = await measureFleet(devices, all, true);
  const curve: BenchReport['curve'] = [];
  for (const size of curveSizes) {
    if (size === devices) {
      curve.push({ devices: size, poll: main.results!.pollOffered!, status: main.results!.status!, hot: main.hot! });
      continue;
    }
    const point = await measureFleet(size, ['pollOffered', 'status'], false);
    curve.push({ devices: size, poll: point.results!.pollOffered!, status: point.results!.status!, hot: point.hot! });
  }
  const report = { ...main, curve, connections, durationSeconds: duration, totalSeconds: (Date.now() - started) / 1000, node: process.version, getGenerator: useWrk ? 'wrk' : 'autocannon' } as BenchReport;
  const file = join(resultsDir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(formatReport(report));
  console.log(`\nraw figures: ${file}`);
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  if (report.durability.lost !== 0) {
    console.error(`DURABILITY FAILURE: ${report.durability.lost} acknowledged reports are not in the database`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
