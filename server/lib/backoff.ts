/**
 * The one exponential backoff schedule (issue 16): the wait before the next
 * try after `failures` consecutive failures (0 = the first retry waits
 * `firstMs`), doubling per failure, never above `maxMs`. Deterministic on
 * purpose: its callers spread their retries already (one queue per webhook
 * receiver, one slot per worker, devices started at different moments), and
 * their tests and logs state the exact wait.
 *
 * A pure schedule rather than a retry library (p-retry, exponential-backoff):
 * those own the retry loop, and two of the three callers are not loops —
 * a per-receiver delivery queue driven by timers and a supervisor restarting
 * a crashed worker process — while the third caps the wait by its run's
 * deadline and its abort signal.
 */
export function backoffDelay(failures: number, schedule: { firstMs: number; maxMs: number }): number {
  // 2 ** 1024 is Infinity, and Math.min keeps it finite: safe for any count of failures.
  return Math.min(schedule.maxMs, schedule.firstMs * 2 ** Math.max(0, failures));
}
