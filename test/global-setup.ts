import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The outcome of building dist/ before the run (tests that spawn dist/server/main.js check it). */
    distBuild: { ok: boolean; emitted: boolean; output: string };
    /** The outcome of building the dashboard into dist/ui (the browser tests serve it). */
    uiBuild: { ok: boolean; output: string };
  }
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds dist/ once per run (`tsc -p tsconfig.build.json`, then the dashboard with vite): the crash test
 * runs the real server as a child process, and the CLI tests run bin/ota.js,
 * both from dist/. A failed build does not stop the run: the tests that need
 * dist/ fail with the compiler's output, the others are unaffected.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Started beside the builds: initdb takes a few seconds.
  const postgres = startPostgres();
  const tsc = resolve(repoRoot, 'node_modules/typescript/bin/tsc');
  const main = resolve(repoRoot, 'dist/server/main.js');
  const started = Date.now();
  const result = await new Promise<{ ok: boolean; output: string }>((done) => {
    execFile(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ ok: err === null, output: `${stdout}${stderr}`.trim() });
    });
  });
  // tsc emits despite type errors (those are `npm run typecheck`'s to report): what matters here is a fresh dist/.
  let emitted = false;
  try {
    emitted = statSync(main).mtimeMs >= started - 1000;
  } catch {
    emitted = false;
  }
  project.provide('distBuild', { ...result, emitted });
  // The dashboard (vite.config.ts → dist/ui): the browser tests load the page the server serves.
  const vite = resolve(repoRoot, 'node_modules/vite/bin/vite.js');
  const ui = await new Promise<{ ok: boolean; output: string }>((done) => {
    execFile(process.execPath, [vite, 'build'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ ok: err === null, output: `${stdout}${stderr}`.trim() });
    });
  });
  project.provide('uiBuild', ui);
  await ensureChromium();
  await ensureDeviceClients();
  const stopPostgres = await postgres;
  return stopPostgres;
}

/**
 * The PostgreSQL the PostgreSQL tests use (issue 10 design §4): the one in
 * OTA_TEST_DATABASE_URL when set (.ci/run starts its own), otherwise a
 * throwaway cluster from scripts/postgres.sh in a temporary folder, stopped
 * and deleted after the run. Its URL reaches the test workers through
 * process.env (they are forked after this). When PostgreSQL is not
 * installed the variable stays unset and test/helpers/database.ts fails
 * those tests saying how to install it or point the variable at a server.
 */
async function startPostgres(): Promise<() => Promise<void>> {
  const none = async (): Promise<void> => {};
  if (process.env.OTA_TEST_DATABASE_URL) return none;
  try {
    execFileSync('pg_config', ['--bindir'], { stdio: 'ignore' });
  } catch {
    return none;
  }
  const script = resolve(repoRoot, 'scripts/postgres.sh');
  const dir = mkdtempSync(join(tmpdir(), 'ota-test-pg-'));
  const cleanup = async (): Promise<void> => {
    await new Promise<void>((done) => execFile('bash', [script, 'stop', dir], () => done()));
    rmSync(dir, { recursive: true, force: true });
  };
  const started = await new Promise<{ ok: boolean; output: string }>((done) => {
    execFile('bash', [script, 'start', dir], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      done({ ok: err === null, output: err === null ? stdout.trim() : `${stdout}${stderr}`.trim() });
    });
  });
  if (!started.ok) {
    await cleanup();
    // The PostgreSQL tests fail on the missing variable; this says why it is missing.
    console.error(`test/global-setup: could not start PostgreSQL with scripts/postgres.sh:\n${started.output}`);
    return none;
  }
  process.env.OTA_TEST_DATABASE_URL = started.output;
  return cleanup;
}

const CHROMIUM = '/usr/bin/chromium';

/**
 * The browser tests drive Debian's Chromium (nothing may download a browser).
 * The README's test command must pass on a bare machine, so a missing
 * Chromium is installed here when the run may do so (root with apt-get, as
 * on these machines and in CI); otherwise the browser tests fail saying how
 * to install it.
 */
async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM) || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return;
  const run = (args: string[]) =>
    new Promise<void>((done) => {
      execFile('/usr/bin/apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 }, () => done());
    });
  await run(['update']);
  await run(['install', '-y', 'chromium']);
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/** The stock device clients the gateways' acceptance tests run, by the file each package installs. */
const DEVICE_CLIENTS: Record<string, string> = {
  // hawkBit DDI (test/ddi/swupdate-stock.test.ts)
  swupdate: '/usr/bin/swupdate',
  // Mender (test/mender/mender-stock.test.ts)
  'mender-client': '/usr/bin/mender',
  'mender-artifact': '/usr/bin/mender-artifact',
};

/**
 * Debian's stock SWUpdate, Mender client and mender-artifact, installed here
 * like Chromium when missing (root with apt-get). Their packages enable
 * services: a temporary policy-rc.d that exits 101 keeps any daemon from
 * starting, removed afterwards (only if this run created it).
 */
async function ensureDeviceClients(): Promise<void> {
  const missing = Object.entries(DEVICE_CLIENTS).filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg);
  if (missing.length === 0 || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return;
  const run = (args: string[]) =>
    new Promise<void>((done) => {
      execFile('/usr/bin/apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 }, () => done());
    });
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy) {
    writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n');
    chmodSync(POLICY_RC, 0o755);
  }
  try {
    await run(['update']);
    await run(['install', '-y', '--no-install-recommends', ...missing]);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
}
