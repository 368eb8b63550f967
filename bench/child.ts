import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  proc: ChildProcess;
  url: string;
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Starts a Node child and waits for its "listening on URL" line. */
export function startChild(script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(out);
      if (!m) return;
      proc.stdout?.off('data', onData);
      resolve({
        proc,
        url: m[1] as string,
        rssBytes: () => {
          const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
          return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        },
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            proc.once('exit', () => done());
            proc.kill('SIGTERM');
          }),
      });
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening: ${out.slice(-500)}`)));
  });
}
