import type { Sql } from './sql.js';
import { AppError } from '../errors.js';

interface Job {
  work: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Group commit: every write submitted while no group is being written — or
 * while the previous group commits — runs in ONE transaction (one fsync
 * with synchronous=FULL), each job in its own savepoint, one after another.
 * Whatever one job throws — a refusal (AppError) or anything unexpected —
 * rolls back its savepoint alone and rejects its promise alone: one
 * device's bad input never touches its neighbours' writes. Only a failure
 * of the transaction itself (the commit, the disk) fails the group.
 * Promises settle only after the commit: whoever answers 2xx on them
 * answers for data that is on disk. While a group commits (which may wait
 * on I/O), new jobs collect for the next group, started when it ends.
 * Callers do what can fail on their own input (parsing, canonical JSON)
 * before they join.
 */
export function createGroupCommit(
  sql: Sql,
  hooks: {
    /** First inside each group's transaction; its failure fails the group (e.g. a cluster-wide lock: protocol §9). */
    begin?: () => Promise<void>;
    beforeEach?: () => Promise<void>;
    /** A failure of `beforeEach` or of an after-commit listener: logged, and the group goes on. */
    onHookError?: (e: unknown, hook: 'beforeEach' | 'afterCommit') => void;
    onGroupError?: (e: unknown, requests: number) => void;
    /** After each successful commit: how long the group took and how many requests it held (metrics). */
    committed?: (seconds: number, jobs: number) => void;
  } = {},
) {
  let queue: Job[] = [];
  const committed: (() => void | Promise<void>)[] = [];
  /** A group is scheduled or being written: new jobs wait for the next one. */
  let busy = false;

  const writeGroup = async (jobs: Job[]): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      await sql.transaction(async () => {
        await hooks.begin?.();
        // e.g. the write-behind of poll activity, so reports always find their offers. Best effort:
        // a report whose offer is not written yet proves its eligibility itself.
        const before = hooks.beforeEach;
        if (before) {
          try {
            await sql.transaction(before);
          } catch (e) {
            hooks.onHookError?.(e, 'beforeEach');
          }
        }
        // One savepoint at a time (never two concurrently inside one transaction).
        for (const job of jobs) {
          try {
            job.outcome = { ok: true, value: await sql.transaction(job.work) };
          } catch (e) {
            job.outcome = { ok: false, error: e };
          }
        }
      });
    } catch (e) {
      hooks.onGroupError?.(e, jobs.length);
      const err = new AppError('unavailable', 'the write could not be stored; send it again', { cause: e });
      for (const job of jobs) job.reject(err);
      return;
    }
    // The transaction's wall time, fsync included: what every acknowledged report waited for (ota_group_commit_seconds).
    hooks.committed?.(Number(process.hrtime.bigint() - started) / 1e9, jobs.length);
    // What must follow a commit (the auto-halt check) is done before anyone in the group is answered:
    // the report that crosses a rollout's threshold gets its 200 after the halt, on either engine.
    for (const listener of committed) {
      try {
        await listener();
      } catch (e) {
        hooks.onHookError?.(e, 'afterCommit');
      }
    }
    for (const job of jobs) {
      const o = job.outcome as NonNullable<Job['outcome']>;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    }
  };

  /** Writes groups until no job waits: what arrived during one commit forms the next group. */
  const drain = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const jobs = queue;
        queue = [];
        await writeGroup(jobs);
      }
    } finally {
      busy = false;
    }
  };

  return {
    /** Called (and awaited) after every successful group commit, before its requests are answered. */
    onCommit(listener: () => void | Promise<void>): void {
      committed.push(listener);
    },
    /** Runs `work` inside the next group transaction; resolves with its result once committed. */
    run<T>(work: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
        if (!busy) {
          busy = true;
          // The rest of this turn of the event loop joins the same group.
          setImmediate(() => void drain());
        }
      });
    },
  };
}
