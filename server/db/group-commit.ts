import type { Db } from './open.js';
import { AppError } from '../errors.js';

interface Job {
  work: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Group commit: every write submitted in the same turn of the event loop
 * runs in ONE transaction (one fsync with synchronous=FULL), each in its own
 * savepoint. Whatever one job throws — a refusal (AppError) or anything
 * unexpected — rolls back its savepoint alone and rejects its promise alone:
 * one device's bad input never touches its neighbours' writes. Only a
 * failure of the transaction itself (the commit, the disk) fails the group.
 * Promises settle only after the commit: whoever answers 2xx on them
 * answers for data that is on disk. Callers do what can fail on their own
 * input (parsing, canonical JSON) before they join.
 */
export function createGroupCommit(
  db: Db,
  hooks: {
    beforeEach?: () => void;
    onHookError?: (e: unknown) => void;
    onGroupError?: (e: unknown, requests: number) => void;
    /** After each successful commit: how long the group took and how many requests it held (metrics). */
    committed?: (seconds: number, jobs: number) => void;
  } = {},
) {
  let queue: Job[] = [];
  const committed: (() => void)[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const jobs = queue;
    queue = [];
    const started = process.hrtime.bigint();
    try {
      db.transaction(() => {
        // e.g. the write-behind of poll activity, so reports always find their offers. Best effort:
        // a report whose offer is not written yet proves its eligibility itself.
        const before = hooks.beforeEach;
        if (before) {
          try {
            db.transaction(before)();
          } catch (e) {
            hooks.onHookError?.(e);
          }
        }
        for (const job of jobs) {
          try {
            job.outcome = { ok: true, value: db.transaction(job.work)() };
          } catch (e) {
            job.outcome = { ok: false, error: e };
          }
        }
      })();
    } catch (e) {
      hooks.onGroupError?.(e, jobs.length);
      const err = new AppError('unavailable', 'the write could not be stored; send it again', { cause: e });
      for (const job of jobs) job.reject(err);
      return;
    }
    // The transaction's wall time, fsync included: what every acknowledged report waited for (ota_group_commit_seconds).
    hooks.committed?.(Number(process.hrtime.bigint() - started) / 1e9, jobs.length);
    for (const job of jobs) {
      const o = job.outcome as NonNullable<Job['outcome']>;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    }
    for (const listener of committed) listener();
  };

  return {
    /** Called after every successful group commit (e.g. to look at what moved). */
    onCommit(listener: () => void): void {
      committed.push(listener);
    },
    /** Runs `work` inside the next group transaction; resolves with its result once committed. */
    run<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
