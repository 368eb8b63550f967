import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startChild, type Child } from './child.js';
import { runLoad, type LoadResult } from './load.js';
import { serverScenarios } from './scenarios.js';
import type { SeedResult } from './seed.js';

/**
 * The poll with transparency-log proofs (protocol §8) against the poll
 * without them: the same seeded fleet and the same "update offered" load,
 * on this build and on a build of the code before the log (--base, a
 * checkout with its own dist/). Rounds alternate A/B so drift in a shared
 * machine's load hits both alike.
 *
 *   npm run build && node dist/bench/poll-proofs.js --base /tmp/ota-base [--devices 10000] [--duration 5] [--rounds 3]
 */
const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    devices: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
  },
});
if (!args.base) throw new Error('--base DIR (a build of the code without the log) is required');
const devices = Number(args.devices);
const duration = Number(args.duration);
const connections = Number(args.connections);
const log = (m: string) => console.error(`[poll-proofs ${new Date().toISOString().slice(11, 19)}] ${m}`);

interface Side {
  name: string;
  root: string;
  seed?: SeedResult;
  runs: LoadResult[];
  bodyBytes: number;
}

const env = (s: SeedResult): NodeJS.ProcessEnv => ({
  OTA_DATA_DIR: s.dataDir, OTA_TRUST_DIR: s.trustDir, PORT: '0', HOST: '127.0.0.1', OTA_LOG_LEVEL: 'warn', OTA_DEMO: 'false',
  OTA_RATE_LIMIT_PER_MINUTE: '100000000', OTA_AUTH_FAILURES_PER_MINUTE: '100000000', OTA_CENSUS_INTERVAL_SECONDS: '86400',
});

async function measure(side: Side, tag: string): Promise<void> {
  const s = side.seed as SeedResult;
  const server: Child = await startChild(join(side.root, 'dist/server/main.js'), [], env(s));
  try {
    const spec = serverScenarios({ seed: s, url: server.url, connections, durationSeconds: duration, etags: new Map(), runTag: tag }).pollOffered!;
    const first = spec.request(0);
    const body = await fetch(`${server.url}${first.path}`, { headers: first.headers }).then((r) => r.text());
    side.bodyBytes = Buffer.byteLength(body);
    // Warm-up: first offers and their write-behind land before the measured run.
    await runLoad({ ...spec, durationSeconds: 2 });
    side.runs.push(await runLoad(spec));
    const run = side.runs.at(-1) as LoadResult;
    log(`${side.name}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms, body ${side.bodyBytes} B, ok ${run.ok}, non-2xx ${run.non2xx}, errors ${run.errors}`);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ota-poll-proofs-'));
  const sides: Side[] = [
    { name: 'with proofs', root: resolve(here, '../..'), runs: [], bodyBytes: 0 },
    { name: 'without (base)', root: resolve(args.base as string), runs: [], bodyBytes: 0 },
  ];
  try {
    for (const side of sides) {
      const { seed } = (await import(pathToFileURL(join(side.root, 'dist/bench/seed.js')).href)) as { seed: (dir: string, n: number) => Promise<SeedResult> };
      log(`seeding ${devices} devices for ${side.name}`);
      side.seed = await seed(join(work, side.name.replace(/\W+/g, '-')), devices);
    }
    for (let r = 0; r < Number(args.rounds); r++) for (const side of r % 2 ? [...sides].reverse() : sides) await measure(side, `${r}`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const [withP, without] = sides as [Side, Side];
    const ratio = median(withP.runs.map((x) => x.rps)) / median(without.runs.map((x) => x.rps));
    console.log(`poll, update offered, ${devices} devices, ${connections} connections, ${duration} s × ${args.rounds} rounds (median)`);
    for (const side of sides) {
      console.log(`  ${side.name.padEnd(15)} ${median(side.runs.map((x) => x.rps)).toFixed(0).padStart(7)} req/s  p99 ${median(side.runs.map((x) => x.p99))} ms  body ${side.bodyBytes} B  (runs: ${side.runs.map((x) => x.rps.toFixed(0)).join(', ')})`);
    }
    console.log(`  with / without: ${ratio.toFixed(2)}× (target ≥ 0.9×)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
