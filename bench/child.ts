import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  proc: ChildProcess;
  url: string;
  rssBytes(): number;
  /** CPU time (user + system, all threads) the child has used so far, in microseconds. */
  cpuMicros(): { user: number; system: number };
  /** SQLite statements the child has executed so far (only with the bench's server probe loaded). */
  statements(): Promise<number | undefined>;
  /** The child's event-loop delay (p99, max; ms) since the last call (only with the server probe loaded). */
  loopDelay(): Promise<{ p99: number; max: number } | undefined>;
  /** Asks the server probe to start or stop (and write) a CPU profile. */
  profile(m: { profile: 'start' } | { profile: 'stop'; file: string }): Promise<void>;
  stop(): Promise<void>;
}

const clockTicks = ((): number => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** utime and stime of a process from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name). */
export function cpuMicrosOf(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / clockTicks, system: (Number(fields[12]) * 1e6) / clockTicks };
}

/** One question to the server probe over IPC: the answer's field of that name, or undefined after 2 s. */
function ask<T>(proc: ChildProcess, what: 'statements' | 'loop'): Promise<T | undefined> {
  return new Promise((done) => {
    const onMessage = (m: unknown) => {
      if (typeof m !== 'object' || m === null || !(what in m)) return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      done((m as Record<string, T>)[what]);
    };
    const timer = setTimeout(() => {
      proc.off('message', onMessage);
      done(undefined);
    }, 2000);
    proc.on('message', onMessage);
    proc.send(what);
  });
}

/** Starts a Node child (with an IPC channel) and waits for its "listening on URL" line. */
export function startChild(script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(out);
      if (!m) return;
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onData);
      resolve({
        proc,
        url: m[1] as string,
        rssBytes: () => {
          const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
          return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        },
        cpuMicros: () => cpuMicrosOf(proc.pid as number),
        statements: () => ask<number>(proc, 'statements'),
        loopDelay: () => ask<{ p99: number; max: number }>(proc, 'loop'),
        profile: (m) =>
          new Promise((done, fail) => {
            const onMessage = (r: unknown) => {
              if (typeof r !== 'object' || r === null || !('profiled' in r)) return;
              proc.off('message', onMessage);
              if ((r as { profiled: boolean }).profiled) done();
              else fail(new Error(`profile ${m.profile} failed: ${(r as { error?: string }).error}`));
            };
            proc.on('message', onMessage);
            proc.send(m);
          }),
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            proc.once('exit', () => done());
            proc.kill('SIGTERM');
          }),
      });
    };
    // The server's banner goes to stderr (stdout carries only JSON log lines): look on both.
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening: ${out.slice(-500)}`)));
  });
}
