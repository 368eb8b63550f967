import type { Db } from './open.js';
import { AppError, isAppError } from '../errors.js';

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
 * savepoint, so a refused request (an AppError) rolls back alone and never
 * touches its neighbours. Promises settle only after the commit: whoever
 * answers 2xx on them answers for data that is on disk.
 */
export function createGroupCommit(db: Db, hooks: { beforeEach?: () => void; committed?: (seconds: number, jobs: number) => void } = {}) {
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
        // e.g. the write-behind of poll activity, so reports always find their offers.
        hooks.beforeEach?.();
        for (const job of jobs) {
          try {
            job.outcome = { ok: true, value: db.transaction(job.work)() };
          } catch (e) {
            if (!isAppError(e)) throw e;
            job.outcome = { ok: false, error: e };
          }
        }
      })();
    } catch (e) {
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
