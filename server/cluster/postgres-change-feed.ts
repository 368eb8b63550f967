import pg from 'pg';
import type { Sql } from '../db/sql.js';
import { ADVISORY_LOCK, holdUntilCommit } from './advisory-locks.js';
import { checkChange, createSubscribers, type Change, type ChangeFeed } from './change-feed.js';

export const CHANGES_CHANNEL = 'ota_changes';

export interface PostgresChangeFeedOptions {
  /** The shared pool: publishes (inside the caller's transaction) and periodic reads. */
  sql: Sql;
  /** The database, for the dedicated LISTEN session. */
  url: string;
  /** The periodic read that bounds the delay of a lost notification (protocol §9: within 2 s). */
  pollMs?: number;
  /** Wait before reconnecting a broken LISTEN session. */
  reconnectMs?: number;
  /** Shown in pg_stat_activity as `ota-change-feed:<name>`. */
  name?: string;
  onError?: (err: unknown) => void;
}

/** Rows read per statement while catching up. */
const PAGE = 1000;

/**
 * The feed across nodes sharing one PostgreSQL (protocol §9). A change is a
 * row of `changes` written in the publisher's transaction under a
 * transaction-scoped advisory lock — identities are drawn in lock order and
 * the lock is released only after the commit is visible, so seq order is
 * commit order and a reader never sees seq n+1 before n. `pg_notify` in the
 * same transaction wakes every node on commit (never on rollback).
 *
 * The table is the truth; a notification only says "read now". Each node
 * reads `seq > last` on every notification and every `pollMs`, so a lost
 * notification or a broken LISTEN session (reconnected after
 * `reconnectMs`) delays a change by at most about `pollMs`.
 */
export function createPostgresChangeFeed(opts: PostgresChangeFeedOptions): ChangeFeed {
  const { sql } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const reconnectMs = opts.reconnectMs ?? 1000;
  const onError = opts.onError ?? (() => {});
  const subscribers = createSubscribers(onError);
  let last = 0;
  let running = false;
  let listener: pg.Client | undefined;
  let poll: NodeJS.Timeout | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let readAgain = false;

  const readOnce = async (): Promise<void> => {
    for (;;) {
      const rows = await sql.all<Change>('SELECT seq, topic, key FROM changes WHERE seq > ? ORDER BY seq LIMIT ?', [last, PAGE]);
      for (const change of rows) {
        last = change.seq;
        await subscribers.deliver(change);
      }
      if (rows.length < PAGE) return;
    }
  };
  /** One read at a time; a request during a read runs one more after it (nothing committed meanwhile is missed). */
  const read = (): Promise<void> => {
    if (reading) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          readAgain = false;
          await readOnce();
        } while (readAgain && running);
      } catch (err) {
        onError(err);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  const dropListener = (client: pg.Client): void => {
    if (listener !== client) return;
    listener = undefined;
    void client.end().catch(() => {});
    if (running && !reconnect) reconnect = setTimeout(() => void listen().catch(onError), reconnectMs).unref();
  };
  const listen = async (): Promise<void> => {
    reconnect = undefined;
    if (!running) return;
    const client = new pg.Client({ connectionString: opts.url, application_name: `ota-change-feed:${opts.name ?? process.pid}`, keepAlive: true });
    listener = client;
    client.on('error', (err) => {
      onError(err);
      dropListener(client);
    });
    client.on('end', () => dropListener(client));
    client.on('notification', () => void read());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      dropListener(client);
      throw err;
    }
    // Whatever committed while nobody listened.
    void read();
  };

  return {
    async publish(topic, key = null) {
      checkChange(topic, key);
      const record = async (): Promise<void> => {
        await holdUntilCommit(sql, ADVISORY_LOCK.changes);
        const seq = await sql.value<number>('INSERT INTO changes (topic, key) VALUES (?, ?) RETURNING seq', [topic, key]);
        await sql.value(`SELECT pg_notify('${CHANGES_CHANNEL}', ?)`, [String(seq)]);
      };
      if (sql.inTransaction()) return record();
      await sql.transaction(record);
      // Outside a transaction the caller may expect its own change applied locally on return.
      await read();
    },
    subscribe: (handler) => subscribers.add(handler),
    async start() {
      last = (await sql.value<number>('SELECT COALESCE(MAX(seq), 0) FROM changes')) ?? 0;
      running = true;
      try {
        await listen();
      } catch (err) {
        running = false;
        clearTimeout(reconnect);
        throw err;
      }
      poll = setInterval(() => void read(), pollMs).unref();
    },
    async stop() {
      running = false;
      clearInterval(poll);
      clearTimeout(reconnect);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => {});
      await reading;
    },
    async prune(olderThanMinutes) {
      return sql.run(`DELETE FROM changes WHERE at < now() - make_interval(mins => ?)`, [olderThanMinutes]);
    },
  };
}
