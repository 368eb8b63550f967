import type { Sql } from './sql.js';
import { AppError } from '../errors.js';

/** What one request of a set-based writer came to: its answer, or its own refusal. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * A writer whose requests a group writes together, set-based: a fixed few
 * multi-row statements per group instead of a dozen statements per request
 * (issue 20: on PostgreSQL each statement is a network round trip, and the
 * group's connection does them one after another).
 */
export interface BatchWriter<I, R> {
  /**
   * Every request of a run of consecutive ones in the group, with no
   * savepoint. It decides each request's refusal before it writes (one
   * outcome per item, in order); it throws only when the engine fails,
   * and then the whole group is written again the careful way.
   */
  many(items: readonly I[]): Promise<Outcome<R>[]>;
  /** One request alone, in its own savepoint (the careful way). */
  one(item: I): Promise<R>;
}

interface Job {
  work: () => Promise<unknown>;
  /** Set for a request of a set-based writer (`work` is then its `one`). */
  batch?: { writer: BatchWriter<unknown, unknown>; item: unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

export type GroupCommit = ReturnType<typeof createGroupCommit>;

/**
 * Group commit: every write submitted while no group is being written — or
 * while the previous group commits — runs in ONE transaction (one fsync
 * with synchronous=FULL). A plain job (`run`) runs in its own savepoint;
 * consecutive requests of a set-based writer (`runBatched`) are written
 * together by its `many`, which refuses a request before writing anything
 * for it, so the common path costs no savepoint at all. Whatever one job
 * throws — a refusal (AppError) or anything unexpected — rejects its
 * promise alone: one device's bad input never touches its neighbours'
 * writes. When a set-based write (or the write-behind) fails in the engine,
 * the group is rolled back and written again the careful way — every
 * request in its own savepoint — so the failure still costs only its own
 * answer. Only a failure of the transaction itself (the commit, the disk)
 * fails the group.
 * Promises settle only after the commit: whoever answers 2xx on them
 * answers for data that is on disk. While a group commits (which may wait
 * on I/O), new jobs collect for the next group, started when it ends.
 * Callers do what can fail on their own input (parsing, canonical JSON)
 * before they join.
 */
export function createGroupCommit(
  sql: Sql,
  hooks: {
    /** A cluster-wide lock each group's transaction holds from its start (protocol §9); failing to take it fails the group. */
    lock?: number;
    beforeEach?: () => Promise<void>;
    /** A failure of `beforeEach` or of an after-commit listener: logged, and the group goes on. */
    onHookError?: (e: unknown, hook: 'beforeEach' | 'afterCommit') => void;
    onGroupError?: (e: unknown, requests: number) => void;
    /** The fast way of a group failed in the engine (the cause) and the group is written again the careful way. */
    retried?: (e: unknown) => void;
    /** After each successful commit: how long the group took and how many requests it held (metrics). */
    committed?: (seconds: number, jobs: number) => void;
  } = {},
) {
  let queue: Job[] = [];
  const committed: (() => void | Promise<void>)[] = [];
  /** A group is scheduled or being written: new jobs wait for the next one. */
  let busy = false;

  /** The fast way failed in the engine: roll the group back and write it the careful way. */
  class Retry extends Error {}

  const writeGroup = async (jobs: Job[], careful = false): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      await sql.transaction(async () => {
        // e.g. the write-behind of poll activity, so reports always find their offers. Best effort:
        // a report whose offer is not written yet proves its eligibility itself.
        const before = hooks.beforeEach;
        if (before) {
          try {
            // Unguarded on the fast way: its failure sends the group the careful way, where it has a savepoint.
            await (careful ? sql.transaction(before) : before());
          } catch (e) {
            if (!careful) throw new Retry('the write-behind failed', { cause: e });
            hooks.onHookError?.(e, 'beforeEach');
          }
        }
        // One job at a time (never two savepoints concurrently inside one transaction).
        for (let i = 0; i < jobs.length;) {
          const job = jobs[i] as Job;
          const writer = job.batch?.writer;
          if (!writer || careful) {
            try {
              job.outcome = { ok: true, value: await sql.transaction(job.work) };
            } catch (e) {
              job.outcome = { ok: false, error: e };
            }
            i++;
            continue;
          }
          // A run of consecutive requests of one writer, written together (order kept across writers).
          let end = i + 1;
          while (end < jobs.length && jobs[end]?.batch?.writer === writer) end++;
          const run = jobs.slice(i, end);
          let outcomes: Outcome<unknown>[];
          try {
            outcomes = await writer.many(run.map((j) => j.batch?.item));
          } catch (e) {
            throw new Retry('a set-based write failed', { cause: e });
          }
          run.forEach((j, k) => (j.outcome = outcomes[k] ?? { ok: false, error: new Error('the writer gave no outcome for this request') }));
          i = end;
        }
      }, hooks.lock === undefined ? {} : { lock: hooks.lock });
    } catch (e) {
      if (e instanceof Retry && !careful) {
        hooks.retried?.(e.cause);
        return writeGroup(jobs, true);
      }
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

  const enqueue = (job: Job): void => {
    queue.push(job);
    if (!busy) {
      busy = true;
      // The rest of this turn of the event loop joins the same group.
      setImmediate(() => void drain());
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
        enqueue({ work, resolve: resolve as (v: unknown) => void, reject });
      });
    },
    /** Like `run`, for one request of a set-based writer: written with its neighbours by `writer.many`. */
    runBatched<I, R>(writer: BatchWriter<I, R>, item: I): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        enqueue({
          work: () => writer.one(item),
          batch: { writer: writer as BatchWriter<unknown, unknown>, item },
          resolve: resolve as (v: unknown) => void,
          reject,
        });
      });
    },
  };
}
