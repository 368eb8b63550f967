import type { Logger } from 'pino';
import { isAppError } from '../errors.js';
import { databaseAppError } from './database-errors.js';

/** What failed while the database was away: a request (answered 503) or a background job (retried next time). */
export type OutageVictim = 'request' | 'job';

export interface OutageDeps {
  logger: Logger;
  /** A cheap statement that succeeds once the database answers again (SELECT 1). */
  probe: () => Promise<unknown>;
  /** ota_database_unavailable_total, by victim. */
  counter?: { inc(labels: { what: OutageVictim }): void };
  /** How often the probe runs while the database is away. */
  retryMs?: number;
  now?: () => number;
}

export type DatabaseOutage = ReturnType<typeof createDatabaseOutage>;

/** Whether an error means the database is away or refused for now (a 503 to retry), not a bug. */
export function isDatabaseAway(e: unknown): boolean {
  if (isAppError(e)) return e.code === 'unavailable' && e.cause !== undefined && isDatabaseAway(e.cause);
  return databaseAppError(e)?.code === 'unavailable';
}

/** The error's code and message only: the stack is the same driver frames every time, and says nothing. */
const brief = (e: unknown): { code?: string; message: string } => {
  const code = (e as { code?: unknown } | null)?.code;
  return { ...(typeof code === 'string' ? { code } : {}), message: e instanceof Error ? e.message : String(e) };
};

/**
 * The log of a database outage (docs/protocol-notes.md "Database outages"):
 * one warn line when the database goes away, one when it is back (with how
 * long and how many requests were answered 503 and jobs failed meanwhile),
 * a counter in between — not an error line with a stack per 503 (issue 20:
 * ~4,100 lines in 7 s). While it is away a probe runs every `retryMs`; the
 * first success ends the outage.
 */
export function createDatabaseOutage(deps: OutageDeps) {
  const retryMs = deps.retryMs ?? 1000;
  const now = deps.now ?? Date.now;
  let down: { since: number; requests: number; jobs: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const check = async (): Promise<void> => {
    timer = undefined;
    if (!down || stopped) return;
    try {
      await deps.probe();
    } catch {
      if (!stopped) timer = setTimeout(() => void check(), retryMs).unref();
      return;
    }
    const was = down;
    down = undefined;
    deps.logger.warn({ seconds: Math.round((now() - was.since) / 100) / 10, refusedRequests: was.requests, failedJobs: was.jobs }, 'database is back');
  };

  return {
    /**
     * Notes a failure if the database being away caused it and returns true
     * (the caller logs nothing more); returns false for anything else, which
     * the caller logs as its own error.
     */
    failed(err: unknown, what: OutageVictim): boolean {
      if (!isDatabaseAway(err)) return false;
      deps.counter?.inc({ what });
      if (down) {
        if (what === 'request') down.requests++;
        else down.jobs++;
        return true;
      }
      down = { since: now(), requests: what === 'request' ? 1 : 0, jobs: what === 'job' ? 1 : 0 };
      deps.logger.warn({ cause: brief(err) }, 'database unavailable: what needs it is answered 503 (or retried) until it is back');
      if (!stopped) timer = setTimeout(() => void check(), retryMs).unref();
      return true;
    },
    isDown: (): boolean => down !== undefined,
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
