import { describe, expect, it } from 'vitest';
import { cuttableFetch, manyListeners, pause } from '../../server/programs/fleet/run-control.js';

/** Collects the leak warnings Node emits while `work` runs (they are delivered on a later tick). */
async function leakWarnings(work: () => Promise<void>): Promise<number> {
  let n = 0;
  const on = (w: Error): void => void (w.name === 'MaxListenersExceededWarning' && n++);
  process.on('warning', on);
  try {
    await work();
    await new Promise((done) => setImmediate(done));
  } finally {
    process.off('warning', on);
  }
  return n;
}

describe('the fleet simulator cuts every request at once without a listener per request on one signal', () => {
  it('each request gets its own signal, and a cut aborts all of them and the caller-given ones follow too', async () => {
    const seen: AbortSignal[] = [];
    // Like Node's fetch: a listener on the signal it is given, kept until the request is collected.
    const base = (async (_input: unknown, init?: RequestInit) => {
      const signal = init?.signal as AbortSignal;
      signal.addEventListener('abort', () => undefined);
      seen.push(signal);
      return new Response('ok');
    }) as typeof fetch;
    const net = cuttableFetch(base);
    const own = new AbortController();
    const warnings = await leakWarnings(async () => {
      for (let i = 0; i < 2000; i++) await net.fetch('http://127.0.0.1/', i === 0 ? { signal: own.signal } : {});
    });
    expect(warnings).toBe(0);
    expect(new Set(seen).size).toBe(2000);
    expect(seen.some((s) => s.aborted)).toBe(false);
    net.cutAt(performance.now());
    await new Promise((done) => setTimeout(done, 20));
    expect(seen.every((s) => s.aborted)).toBe(true);
    // After a reset the next request is not born cut; the caller's own signal still reaches it.
    net.reset();
    await net.fetch('http://127.0.0.1/', { signal: own.signal });
    const last = seen.at(-1) as AbortSignal;
    expect(last.aborted).toBe(false);
    own.abort();
    expect(last.aborted).toBe(true);
  });

  it('thousands of devices pausing on one simulation signal wake together, with no leak warning', async () => {
    const wake = manyListeners(new AbortController());
    let woke = 0;
    const warnings = await leakWarnings(async () => {
      const pauses = Array.from({ length: 3000 }, () => pause(60_000, wake.signal).then(() => void woke++));
      wake.abort();
      await Promise.all(pauses);
    });
    expect(warnings).toBe(0);
    expect(woke).toBe(3000);
  });
});
