import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { ota } from '../cli/cli-harness.js';
import { alive } from '../helpers/waiting.js';
import { createEmptyPostgresDatabase, type TestDatabase } from '../helpers/database.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OTA = join(repoRoot, 'bin/ota.js');

const children: ChildProcess[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of databases.splice(0)) await d.drop();
});

const workerPids = (primary: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);

const health = (url: string): Promise<Response> => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ota serve --workers', () => {
  it('is refused on SQLite with one clear line, touching nothing', async () => {
    const base = tempDir();
    const data = join(base, 'data');
    const r = await ota(['serve', '--data', data, '--workers', '2'], { env: {} });
    expect(r.code).not.toBe(0);
    expect(r.err).toBe('ota: --workers 2 needs PostgreSQL (set OTA_DATABASE_URL): SQLite allows one server process per data folder\n');
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a worker count out of range', async () => {
    const r = await ota(['serve', '--data', tempDir(), '--workers', '0'], { env: { OTA_DATABASE_URL: 'postgres://127.0.0.1/x' } });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--workers must be an integer from 1 to 256, got "0"/);
  });

  it('runs N processes on one port, replaces a killed one, and stops them all on SIGTERM', async () => {
    expect(inject('distBuild').emitted, inject('distBuild').output).toBe(true);
    const data = tempDir();
    const database = await createEmptyPostgresDatabase();
    databases.push(database);
    const proc = spawn(process.execPath, [OTA, 'serve', '--data', data, '--port', '0', '--workers', '2'], {
      cwd: repoRoot,
      env: { ...process.env, OTA_DATABASE_URL: database.url, OTA_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proc);
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => void (err += d.toString()));
    const listening = () => err.match(/listening on (http:\/\/\S+)/g) ?? [];
    await until(() => err.includes('ota: 2 workers serving') && listening().length === 2, 45_000, () => err);
    const urls = new Set(listening().map((l) => l.replace('listening on ', '')));
    expect(listening()).toHaveLength(2);
    expect(urls.size).toBe(1); // one shared port
    const url = [...urls][0] as string;
    // With PostgreSQL the data folder carries no one-server lock: the workers did not refuse each other.
    expect(existsSync(join(data, 'server.lock'))).toBe(false);
    const [first, second] = workerPids(proc.pid as number);
    expect([first, second].every((p) => p !== undefined && alive(p))).toBe(true);

    process.kill(first as number, 'SIGKILL');
    const restarting = new RegExp(`worker ${first} exited \\(signal SIGKILL\\); restarting it in \\d+ ms`);
    await until(() => restarting.test(err), 10_000, () => err);
    // The other worker keeps serving while the primary restarts the dead one.
    expect((await health(url)).status).toBe(200);
    await until(() => listening().length === 3, 15_000, () => err);
    const now = workerPids(proc.pid as number);
    expect(now).toHaveLength(2);
    expect(now).toContain(second);
    expect((await health(url)).status).toBe(200);

    const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
    proc.kill('SIGTERM');
    const timeout = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    expect(await exited, err).toBe(0);
    clearTimeout(timeout);
    expect(now.some(alive)).toBe(false);
    expect(err.match(/ota: server closed/g)).toHaveLength(2); // each worker closed itself, none was killed
    expect(err).not.toMatch(/did not stop/);
  }, 90_000);
});
