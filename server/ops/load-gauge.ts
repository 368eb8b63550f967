import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The most a loaded server stretches `pollAfterSeconds` by (protocol §7). */
export const MAX_LOAD_FACTOR = 8;

/** 1 while the p99 event-loop delay stays under the threshold, else its multiple (2..max). */
export const loadFactorOf = (p99: number, threshold: number, maxFactor: number): number =>
  p99 > threshold ? Math.min(maxFactor, Math.max(2, Math.ceil(p99 / threshold))) : 1;

/**
 * How loaded the server is, as a factor for `pollAfterSeconds` (protocol
 * §7: "a server under load may raise it"): 1 normally, up to 8 when the
 * event loop's p99 delay over the last second passes the threshold, so a
 * herd backs off by itself instead of being refused.
 */
export function createLoadGauge(opts: { thresholdMs?: number; maxFactor?: number } = {}) {
  const threshold = (opts.thresholdMs ?? 100) * 1e6;
  const maxFactor = opts.maxFactor ?? MAX_LOAD_FACTOR;
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  let factor = 1;
  const timer = setInterval(() => {
    factor = loadFactorOf(histogram.percentile(99), threshold, maxFactor);
    histogram.reset();
  }, 1000).unref();
  return {
    /** Multiplier for the poll interval handed to devices. */
    factor: (): number => factor,
    stop(): void {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
