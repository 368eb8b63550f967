import { mkdirSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startChild, type Child } from './child.js';
import { runLoad, runSequential, type LoadResult } from './load.js';
import { REPORTS_PER_REQUEST, serverScenarios, targetDevice } from './scenarios.js';
import { deviceIdOf, deviceTokenOf, seed, type SeedResult } from './seed.js';
import { formatReport, type BenchReport } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    devices: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '64' },
    'cpu-prof': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const devices = Number(args.devices ?? (args.quick ? 10_000 : 1_000_000));
const duration = Number(args.duration ?? (args.quick ? 3 : 10));
const connections = Number(args.connections);
const curveSizes = args.quick ? [1_000, 10_000] : args.full ? [10_000, 100_000, 1_000_000, 10_000_000] : [10_000, 100_000, 1_000_000];
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

const startServer = (s: SeedResult, tag: string): Promise<Child> =>
  startChild(join(here, '../server/main.js'), [], serverEnv(s), args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, `prof-${tag}`)}`] : []);

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
  const server = await startServer(s, String(size));
  const results: Record<string, LoadResult> = {};
  try {
    const { etags, body } = await collectEtags(server.url, s, Math.min(2000, s.devices));
    // Let the first offers' write-behind land before measuring.
    await new Promise((r) => setTimeout(r, 1500));
    if (withBaselines) {
      const baseline = await startChild(join(here, 'baseline-server.js'), [body], {});
      try {
        log('baseline: bare Express, cached bytes');
        results.baselineGet = await runLoad({ name: 'baseline: Express 5, cached bytes', url: baseline.url, connections, durationSeconds: duration, request: () => ({ path: '/cached' }) });
        log('baseline: Express + express.json()');
        const post = serverScenarios({ seed: s, url: baseline.url, connections, durationSeconds: duration, etags, runTag: 'b' });
        results.baselinePostSingle = await runLoad({ ...post.reportSingle!, name: 'baseline: express.json(), 1 report', request: (k) => ({ ...post.reportSingle!.request(k), path: '/json' }) });
        results.baselinePostBatch = await runLoad({ ...post.reportBatch!, name: 'baseline: express.json(), 10 reports', request: (k) => ({ ...post.reportBatch!.request(k), path: '/json' }) });
      } finally {
        await baseline.stop();
      }
    }
    const scenarios = serverScenarios({ seed: s, url: server.url, connections, durationSeconds: duration, etags, runTag: String(Date.now()) });
    for (const name of scenarioNames) {
      log(`${size.toLocaleString()} devices: ${scenarios[name]!.name}`);
      const spec = scenarios[name]!;
      results[name] = spec.sequential ? await runSequential({ ...spec, count: spec.sequential }) : await runLoad(spec);
    }
    const rss = server.rssBytes();
    // Durability: kill -9, then every acknowledged report must be in the file.
    server.proc.kill("SIGKILL");
    await new Promise((r) => server.proc.once('exit', r));
    const acknowledged = Object.entries(REPORTS_PER_REQUEST).reduce((n, [k, per]) => n + (results[k]?.ok ?? 0) * per, 0);
    const db = new Database(join(s.dataDir, 'ota.db'), { readonly: true });
    const stored = (db.prepare('SELECT COUNT(*) AS n FROM reports').get() as { n: number }).n - s.reports;
    db.close();
    return {
      devices: size, seedMs: s.seedMs, seededReports: s.reports, rssBytes: rss,
      dbBytesPerDevice: s.dbBytesDevices / size, dbBytesPerReport: s.reports ? s.dbBytesReports / s.reports : 0,
      dbFileBytes: statSync(join(s.dataDir, 'ota.db')).size,
      results, durability: { acknowledged, stored, lost: Math.max(0, acknowledged - stored) },
    };
  } finally {
    await server.stop();
    if (!args.keep) rmSync(s.dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const all = ['pollOffered', 'pollNothing', 'poll304', 'reportSingle', 'reportBatch', 'enroll', 'status', 'deviceList'];
  const main = await measureFleet(devices, all, true);
  const curve: BenchReport['curve'] = [];
  for (const size of curveSizes) {
    if (size === devices) {
      curve.push({ devices: size, poll: main.results!.pollOffered!, status: main.results!.status! });
      continue;
    }
    const point = await measureFleet(size, ['pollOffered', 'status'], false);
    curve.push({ devices: size, poll: point.results!.pollOffered!, status: point.results!.status! });
  }
  const report = { ...main, curve, connections, durationSeconds: duration, totalSeconds: (Date.now() - started) / 1000, node: process.version } as BenchReport;
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
