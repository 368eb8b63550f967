import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, inject } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(repoRoot, 'dist/server/main.js');

/** One JSON log line of a server process (pino: level, time, pid, msg, ...). */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number; time?: number };

/** The real server (dist/server/main.js, what `npm start` runs) as a child process. */
export interface ServerProcess {
  proc: ChildProcess;
  pid: number;
  url: string;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Its JSON log lines (stdout) so far. */
  logs(): LogLine[];
  /** Resolves once the process has exited (at once if it already has). */
  exited(): Promise<void>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Fails the test with the compiler's output when the global setup could not emit dist/. */
export function expectDistBuilt(): void {
  const build = inject('distBuild');
  expect(build.emitted && existsSync(MAIN), `dist/ was not built by tsc -p tsconfig.build.json:\n${build.output}`).toBe(true);
  if (!build.ok) console.warn(`tsc reported errors (dist/ was emitted anyway):\n${build.output}`);
}

/**
 * Starts the server with `env` on top of this process's environment (PORT
 * 0 and HOST 127.0.0.1 unless given); resolves once it prints "listening on
 * http://127.0.0.1:PORT" (the banner is on stderr, stdout carries only JSON
 * log lines). Killed with SIGKILL after the test if still running.
 */
export function startServerProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [MAIN], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  let out = '';
  let stdout = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((done) => proc.once('exit', () => done()));
  const logs = (): LogLine[] =>
    stdout.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return []; // a line still being written
      }
    });
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the server did not start within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const check = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stderr?.off('data', check);
      done({ proc, pid: proc.pid as number, url: m[1] as string, output: () => out, logs, exited: () => exit });
    };
    proc.stderr?.on('data', check);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`the server exited (${code ?? signal}) before listening: ${out}`));
    });
  });
}

/**
 * Polls `probe` every `everyMs` until it returns something other than
 * undefined (returned) or `ms` have passed (throws, saying `what`).
 */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms: number, what: () => string, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
