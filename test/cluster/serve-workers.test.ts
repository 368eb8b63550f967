import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { ota } from '../cli/cli-harness.js';
import { alive } from '../helpers/waiting.js';
import { createEmptyPostgresDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/server-process.js';
import { client } from '../e2e/http-client.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OTA = join(repoRoot, 'bin/ota.js');

const children: ChildProcess[] = [];
const databases: TestDatabase[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of databases.splice(0)) await d.drop();
});

const workerPids = (primary: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);

const health = (url: string): Promise<Response> => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });

/**
 * `ota serve --workers 2` on a fresh PostgreSQL database (migrated by the
 * workers themselves), once both workers listen on the one shared port.
 */
async function startWorkers(env: Record<string, string>) {
  expect(inject('distBuild').emitted, inject('distBuild').output).toBe(true);
  const data = tempDir();
  const database = await createEmptyPostgresDatabase();
  databases.push(database);
  const proc = spawn(process.execPath, [OTA, 'serve', '--data', data, '--port', '0', '--workers', '2'], {
    cwd: repoRoot,
    env: { ...process.env, OTA_DATABASE_URL: database.url, ...env },
    // The workers share the primary's stdout (JSON log lines) and stderr (banners).
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let err = '';
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => void (err += d.toString()));
  proc.stdout?.on('data', (d: Buffer) => void (out += d.toString()));
  await until(() => err.includes('ota: 2 workers serving'), 45_000, () => err);
  // One banner for the one shared port: the first worker prints it, the second is quiet (issue 18).
  const urls = listeningLines(err).map((l) => l.replace('listening on ', ''));
  expect(urls, err).toHaveLength(1);
  expect(err.match(/dev operator tokens/g) ?? [], err).toHaveLength(1);
  const workers = workerPids(proc.pid as number);
  expect(workers).toHaveLength(2);
  return { data, proc, url: urls[0] as string, workers, stderr: () => err, stdout: () => out };
}

const listeningLines = (err: string): string[] => err.match(/listening on (http:\/\/\S+)/g) ?? [];

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
    const { data, proc, url, stderr, stdout } = await startWorkers({ OTA_LOG_LEVEL: 'info' });
    // With PostgreSQL the data folder carries no one-server lock: the workers did not refuse each other.
    expect(existsSync(join(data, 'server.lock'))).toBe(false);
    const [first, second] = workerPids(proc.pid as number);
    expect([first, second].every((p) => p !== undefined && alive(p))).toBe(true);

    process.kill(first as number, 'SIGKILL');
    const restarting = new RegExp(`worker ${first} exited \\(signal SIGKILL\\); restarting it in \\d+ ms`);
    await until(() => restarting.test(stderr()), 10_000, stderr);
    // The other worker keeps serving while the primary restarts the dead one.
    expect((await health(url)).status).toBe(200);
    const serving = () => stdout().match(/"msg":"server listening"/g)?.length ?? 0;
    await until(() => serving() === 3, 15_000, stderr);
    expect(listeningLines(stderr())).toHaveLength(1); // the restarted worker prints no second banner
    const now = workerPids(proc.pid as number);
    expect(now).toHaveLength(2);
    expect(now).toContain(second);
    expect((await health(url)).status).toBe(200);

    const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
    proc.kill('SIGTERM');
    const timeout = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    expect(await exited, stderr()).toBe(0);
    clearTimeout(timeout);
    expect(now.some(alive)).toBe(false);
    expect(stderr().match(/ota: server closed/g)).toHaveLength(1); // said once, by the primary
    // Each worker closed itself (none was killed), logging why: the primary forwards SIGTERM.
    const stopped = stdout().split('\n').filter((l) => l.includes('"msg":"server stopped"')).map((l) => JSON.parse(l) as { pid: number; reason: string });
    expect(stopped.map((l) => l.pid).sort()).toEqual([...now].sort());
    expect(stopped.every((l) => l.reason === 'SIGTERM')).toBe(true);
    expect(stderr()).not.toMatch(/did not stop/);
  }, 90_000);

  it('shares one PostgreSQL database: a device enrolled through one worker is polled through the other', async () => {
    const { data, url, workers, stdout } = await startWorkers({ OTA_LOG_LEVEL: 'debug', OTA_DEMO: 'false' });
    const tokens = JSON.parse(readFileSync(join(data, 'dev-tokens.json'), 'utf8')) as Record<string, string>;
    // The device routes log no request id (their fast paths skip it), so a connection's worker is read
    // from the debug line of a /healthz sent on it with our own X-Request-Id: one connection, one worker.
    let n = 0;
    const connection = () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const api = client(url, agent);
      const worker = async (): Promise<number> => {
        const requestId = `probe-${n++}`;
        expect((await api('GET', '/healthz', { headers: { 'X-Request-Id': requestId } })).status).toBe(200);
        return waitFor(() => {
          const line = stdout().split('\n').find((l) => l.includes(`"requestId":"${requestId}"`));
          return line === undefined ? undefined : (JSON.parse(line) as { pid: number }).pid;
        }, 5000, () => `no log line for ${requestId}`);
      };
      return { api, worker };
    };

    const first = connection();
    const enroller = await first.worker();
    const enrolled = await first.api('POST', '/v1/devices', { token: tokens.enroller, json: { deviceId: 'shared-1', model: 'redmi-1s', version: '1.4.1' } });
    expect(enrolled.status, enrolled.text).toBe(201);
    expect(await first.worker()).toBe(enroller); // the enrollment went through that worker
    expect(workers).toContain(enroller);

    // New connections go to the workers in turn (the primary hands them out round-robin).
    for (let i = 0; ; i++) {
      expect(i, 'no connection reached the other worker').toBeLessThan(10);
      const other = connection();
      const poller = await other.worker();
      if (poller === enroller) continue;
      const polled = await other.api('GET', '/v1/devices/shared-1/update?version=1.4.1', { token: enrolled.body.deviceToken as string });
      expect(polled.status, polled.text).toBe(200);
      expect(polled.body).toMatchObject({ updates: [] });
      expect(await other.worker()).toBe(poller);
      expect(workers).toContain(poller);
      break;
    }
  }, 90_000);
});
