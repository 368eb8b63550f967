import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs `work` over `items`, at most `concurrency` at once, starting nothing once `stop()` says so. */
export async function runPool<T>(items: readonly T[], concurrency: number, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/** Sleeps, waking early (without error) when `signal` aborts. */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  ms <= 0 ? Promise.resolve() : sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Checks still running when the duration is up get this long to finish before their requests are cut. */
export const GRACE_MS = 5000;

/**
 * A fetch whose requests can all be cut at once: the agent's artifact
 * streams have no timeout of their own, and a simulation must end by itself
 * even against a server that stopped answering.
 */
export function cuttableFetch(base: typeof fetch): { fetch: typeof fetch; cutAt(atMs: number): void; reset(): void } {
  let cut = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  return {
    // Each request gets a signal of its own that follows the cut: Node's fetch adds a listener to the
    // signal it is given and removes it only once the request is collected, so a shared signal
    // would collect one listener per request (AbortSignal.any follows its sources without one).
    fetch: (input, init) => base(input, { ...init, signal: AbortSignal.any(init?.signal ? [init.signal, cut.signal] : [cut.signal]) }),
    cutAt(atMs) {
      clearTimeout(timer);
      timer = setTimeout(() => cut.abort(new Error('the simulation is over')), Math.max(0, atMs - performance.now()));
      timer.unref();
    },
    reset() {
      clearTimeout(timer);
      cut = new AbortController();
    },
  };
}

/**
 * A controller whose signal every simulated device waits on at once (a
 * pause adds a listener until it ends): one listener per device is the
 * design, not a leak, so Node's leak warning is off for this signal.
 */
export function manyListeners(c: AbortController): AbortController {
  setMaxListeners(0, c.signal);
  return c;
}
