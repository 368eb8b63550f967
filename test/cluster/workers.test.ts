import { fork } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive } from '../helpers/waiting.js';
import { superviseWorkers, type WorkerProcess } from '../../server/cluster/workers.js';

const script = join(import.meta.dirname, 'fake-worker.mjs');

/** Real child processes standing in for cluster workers; `modes` gives each spawn's behaviour in turn. */
function spawner(modes: string[]) {
  const spawned: { pid: number; mode: string; exited: WorkerProcess['exited'] }[] = [];
  const spawn = (): WorkerProcess => {
    const mode = modes[Math.min(spawned.length, modes.length - 1)] as string;
    const child = fork(script, [], { env: { ...process.env, FAKE_WORKER: mode }, stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    spawned.push({ pid: child.pid as number, mode, exited });
    return {
      pid: child.pid,
      ready: new Promise<void>((resolve) => child.once('message', () => resolve())),
      exited,
      kill: (signal) => void child.kill(signal),
    };
  };
  return { spawn, spawned };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ota serve --workers: the primary', () => {
  it('starts N workers, restarts one that dies with a growing delay, and stops them all', async () => {
    const { spawn, spawned } = spawner(['serve', 'crash-soon', 'crash-soon', 'serve']);
    const lines: string[] = [];
    const stop = new AbortController();
    const done = superviseWorkers({ count: 2, spawn, log: (l) => void lines.push(l), stop: stop.signal, restartDelayMs: { first: 100, max: 1000 } });
    await until(() => spawned.length === 4, 5000);
    expect(lines.filter((l) => l.includes('restarting'))).toEqual([
      expect.stringMatching(/worker \d+ exited \(code 7\); restarting it in 100 ms/),
      expect.stringMatching(/worker \d+ exited \(code 7\); restarting it in 200 ms/),
    ]);
    expect(lines).toContain('ota: 2 workers serving');
    const survivors = [spawned[0], spawned[3]].map((s) => (s as { pid: number }).pid);
    await new Promise((r) => setTimeout(r, 300));
    expect(survivors.every(alive)).toBe(true);
    stop.abort();
    expect(await done).toBe(0);
    expect(survivors.some(alive)).toBe(false);
    expect(spawned).toHaveLength(4); // nothing restarted during the stop
  });

  it('kills a worker that ignores SIGTERM once the grace period is over', async () => {
    const { spawn, spawned } = spawner(['stubborn']);
    const lines: string[] = [];
    const stop = new AbortController();
    const done = superviseWorkers({ count: 1, spawn, log: (l) => void lines.push(l), stop: stop.signal, graceMs: 300 });
    await until(() => lines.includes('ota: 1 workers serving'), 5000);
    const t0 = Date.now();
    stop.abort();
    expect(await done).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await (spawned[0] as { exited: WorkerProcess['exited'] }).exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(lines.some((l) => /did not stop within 300 ms; killing it/.test(l))).toBe(true);
  });

  it('gives up with exit code 1 when a worker cannot start the first time, stopping those already up', async () => {
    const { spawn, spawned } = spawner(['serve', 'fail-at-start']);
    const lines: string[] = [];
    const code = await superviseWorkers({ count: 3, spawn, log: (l) => void lines.push(l), stop: new AbortController().signal });
    expect(code).toBe(1);
    expect(spawned).toHaveLength(2); // the third never started, the second not retried
    expect(alive((spawned[0] as { pid: number }).pid)).toBe(false);
    expect(lines).toContain('ota: worker 2 of 3 failed to start; stopping');
  });
});
