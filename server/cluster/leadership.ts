import pg from 'pg';
import type { Sql } from '../db/sql.js';
import { ADVISORY_LOCK } from './advisory-locks.js';

/**
 * Which node runs the singleton jobs (protocol §9: timeouts, auto-halt,
 * auto-advance, re-signing, census and pruning run once — never twice,
 * never not at all while a node is alive).
 */
export interface Leadership {
  isLeader(): boolean;
  /** Takes part (first try at once); resolves after the first try. */
  start(): Promise<void>;
  /** Gives leadership up at once (the next contender takes it at its next try). */
  stop(): Promise<void>;
  /**
   * Runs `job` when this node leads, after checking that its session (and
   * so its lock) is still alive; resolves undefined without running it
   * otherwise. The background loop wraps every singleton job in it.
   */
  runIfLeader<T>(job: () => T | Promise<T>): Promise<T | undefined>;
}

export interface LeadershipOptions {
  /**
   * The node's database: its engine decides, as it does everywhere
   * (server/db/connect.ts picks it). SQLite: the single process always
   * leads. PostgreSQL: contend for the leader lock on a session of its own.
   */
  sql: Pick<Sql, 'engine'>;
  /** OTA_DATABASE_URL: the leader's own session connects here. Required with PostgreSQL. */
  databaseUrl?: string | undefined;
  /** How often a follower tries the lock and a leader checks its session (default: the health interval). */
  intervalMs: number;
  /** Shown in pg_stat_activity as `ota-leader:<name>`. */
  name?: string;
  onChange?: (leader: boolean) => void;
  onError?: (err: unknown) => void;
}

export function createLeadership(opts: LeadershipOptions): Leadership {
  if (opts.sql.engine === 'sqlite') return alwaysLeader(opts);
  if (opts.databaseUrl === undefined) throw new Error('leader election on PostgreSQL needs the database URL for its session');
  return postgresLeadership({ ...opts, databaseUrl: opts.databaseUrl });
}

/** One writer per SQLite file: its one process leads. */
function alwaysLeader(opts: LeadershipOptions): Leadership {
  let leader = false;
  return {
    isLeader: () => leader,
    async start() {
      leader = true;
      opts.onChange?.(true);
    },
    async stop() {
      if (!leader) return;
      leader = false;
      opts.onChange?.(false);
    },
    runIfLeader: async (job) => (leader ? job() : undefined),
  };
}

/**
 * The leader holds a session-scoped advisory lock on a dedicated
 * connection. A dead node's session ends and PostgreSQL frees its lock; a
 * broken session (noticed by an error event or a failed check) makes this
 * node a follower at once, and it reconnects and tries again at its next
 * interval. So a new leader is in place within one interval of the old
 * one's death, two at most from the failure to the next job.
 */
function postgresLeadership(opts: LeadershipOptions & { databaseUrl: string }): Leadership {
  const onError = opts.onError ?? (() => {});
  let leader = false;
  let session: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let trying: Promise<void> | undefined;
  let running = false;

  const setLeader = (value: boolean): void => {
    if (leader === value) return;
    leader = value;
    opts.onChange?.(value);
  };
  const lose = (client: pg.Client): void => {
    if (session !== client) return;
    session = undefined;
    setLeader(false);
    void client.end().catch(() => {});
  };
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: opts.databaseUrl, application_name: `ota-leader:${opts.name ?? process.pid}`, keepAlive: true });
    session = client;
    client.on('error', (err) => {
      onError(err);
      lose(client);
    });
    client.on('end', () => lose(client));
    try {
      await client.connect();
    } catch (err) {
      lose(client);
      throw err;
    }
    return client;
  };
  const tryOnce = async (): Promise<void> => {
    let client = session;
    try {
      client ??= await connect();
      if (leader) {
        await client.query('SELECT 1');
      } else {
        const got = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [ADVISORY_LOCK.leader]);
        if (running && session === client && got.rows[0]?.got) setLeader(true);
      }
    } catch (err) {
      onError(err);
      if (client) lose(client);
    }
  };
  /** Tries never overlap: a slow try is not doubled by the next tick. */
  const tick = (): Promise<void> => (trying ??= tryOnce().finally(() => (trying = undefined)));

  return {
    isLeader: () => leader,
    async start() {
      running = true;
      await tick();
      timer = setInterval(() => void tick(), opts.intervalMs).unref();
    },
    async stop() {
      running = false;
      clearInterval(timer);
      await trying;
      const client = session;
      session = undefined;
      if (client) {
        // Unlock explicitly, then end: either frees the lock; both make it immediate and certain.
        if (leader) await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK.leader]).catch(() => {});
        await client.end().catch(() => {});
      }
      setLeader(false);
    },
    async runIfLeader(job) {
      if (!leader || !session) return undefined;
      // The session is checked by the interval's own try (or the one in flight): one query at a time on
      // it, however many jobs ask at once (node-postgres deprecates a query on a client that runs one).
      await tick();
      return leader && session ? job() : undefined;
    },
  };
}
