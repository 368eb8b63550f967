import cluster from 'node:cluster';
import { backoffDelay } from '../lib/backoff.js';

/** One server process as the supervisor sees it (a node:cluster worker in production). */
export interface WorkerProcess {
  readonly pid: number | undefined;
  /** Settles when the worker listens. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
}

export interface SuperviseOptions {
  count: number;
  spawn: () => WorkerProcess;
  /** One human line per event (stderr). */
  log: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM: every worker is asked to stop, then the supervisor returns. */
  stop: AbortSignal;
  /** Restart delay after a crash: doubles per consecutive crash of a slot, from first to max. */
  restartDelayMs?: { first: number; max: number };
  /** A worker that ran this long before dying starts its slot's backoff over. */
  healthyAfterMs?: number;
  /** How long stopping workers get before SIGKILL. */
  graceMs?: number;
}

type Exit = Awaited<WorkerProcess['exited']>;
const describeExit = (e: Exit): string => (e.signal ? `signal ${e.signal}` : `code ${e.code}`);

/**
 * `ota serve --workers N` (protocol §9): the primary of a node:cluster
 * keeps N server processes on one listening socket. Workers start one
 * after another (each once the previous listens), so start-up work that
 * is not safe to race — migrations, a first dev trust folder, dev tokens —
 * runs once. A worker that dies is restarted after a backoff; a worker
 * that cannot start at all the first time stops everything (a bad
 * configuration would fail the same way forever). Resolves with the exit
 * code once every worker has ended after `stop`.
 */
export async function superviseWorkers(opts: SuperviseOptions): Promise<number> {
  const first = opts.restartDelayMs?.first ?? 500;
  const max = opts.restartDelayMs?.max ?? 30_000;
  const healthyAfter = opts.healthyAfterMs ?? 60_000;
  const grace = opts.graceMs ?? 30_000;
  const live = new Set<WorkerProcess>();
  const pending = new Set<NodeJS.Timeout>();
  const crashes = new Array<number>(opts.count).fill(0);
  let failed = false;
  let stopping = opts.stop.aborted;
  let starting = true;
  let stopped!: () => void;
  const allStopped = new Promise<void>((resolve) => (stopped = resolve));

  const stopAll = (): void => {
    stopping = true;
    for (const t of pending) clearTimeout(t);
    pending.clear();
    if (live.size === 0) return stopped();
    for (const w of live) w.kill('SIGTERM');
    setTimeout(() => {
      for (const w of live) {
        opts.log(`ota: worker ${w.pid} did not stop within ${grace} ms; killing it`);
        w.kill('SIGKILL');
      }
    }, grace).unref();
  };

  /** Starts slot `slot`; resolves true once it listens, false if it died first. */
  const run = async (slot: number): Promise<boolean> => {
    const worker = opts.spawn();
    const startedAt = Date.now();
    let listening = false;
    void worker.ready.then(() => (listening = true));
    live.add(worker);
    void worker.exited.then((exit) => {
      live.delete(worker);
      if (stopping) {
        if (live.size === 0) stopped();
        return;
      }
      // The first start of a slot failing is handled below (everything stops), not retried.
      if (starting && !listening) return;
      if (Date.now() - startedAt >= healthyAfter) crashes[slot] = 0;
      const delay = backoffDelay(crashes[slot] ?? 0, { firstMs: first, maxMs: max });
      crashes[slot] = (crashes[slot] ?? 0) + 1;
      opts.log(`ota: worker ${worker.pid} exited (${describeExit(exit)}); restarting it in ${delay} ms`);
      const t = setTimeout(() => {
        pending.delete(t);
        if (!stopping) void run(slot);
      }, delay);
      pending.add(t);
    });
    return Promise.race([worker.ready.then(() => true), worker.exited.then(() => false)]);
  };

  opts.stop.addEventListener('abort', stopAll, { once: true });
  for (let slot = 0; slot < opts.count && !stopping; slot++) {
    const up = await run(slot);
    if (!up && !stopping) {
      opts.log(`ota: worker ${slot + 1} of ${opts.count} failed to start; stopping`);
      failed = true;
      stopAll();
    }
  }
  starting = false;
  if (!stopping) opts.log(`ota: ${opts.count} workers serving`);
  if (stopping && live.size === 0) stopped();
  await allStopped;
  opts.stop.removeEventListener('abort', stopAll);
  return failed ? 1 : 0;
}

/** A node:cluster worker running this same command line (the worker path of `ota serve`), with `env` added to its environment. */
export function forkClusterWorker(env: Record<string, string> = {}): WorkerProcess {
  const worker = cluster.fork(env);
  return {
    get pid() {
      return worker.process.pid;
    },
    ready: new Promise<void>((resolve) => worker.once('listening', () => resolve())),
    exited: new Promise((resolve) => worker.once('exit', (code: number | null, signal: string | null) => resolve({ code, signal }))),
    kill: (signal) => void worker.process.kill(signal),
  };
}
