import { AsyncResource } from 'node:async_hooks';
import type { Sql } from '../db/sql.js';

/**
 * The change feed (protocol §9: a change made through any node is served by
 * every node within 2 s). A store that changes something other nodes keep
 * in memory (live rollouts, cohorts, the device cache) publishes a change
 * inside the transaction that makes it; every node — the publisher
 * included — receives each committed change exactly once, in commit order,
 * and refreshes its view. A rolled-back change is never delivered.
 *
 * A change names what changed, not how: receivers re-read the key from the
 * store, so a change is never stale or partial.
 */
export interface Change {
  /** Commit order: strictly increasing per feed (gaps allowed). */
  seq: number;
  /** What kind of thing changed, in the domain's words: 'rollout', 'cohort', 'device', ... */
  topic: string;
  /** Which one (a rollout id, a device id); null: reload the whole view of the topic. */
  key: string | null;
}

export type ChangeHandler = (change: Change) => void | Promise<void>;

export interface ChangeFeed {
  /**
   * Records a change. Call it inside the transaction that makes the change
   * (last, just before it commits: on PostgreSQL it serialises change
   * writers from here to commit); outside one, the change is its own
   * transaction and has been delivered locally when the promise resolves.
   */
  publish(topic: string, key?: string | null): Promise<void>;
  /** Every committed change from start() on, once, in seq order. Returns unsubscribe. */
  subscribe(handler: ChangeHandler): () => void;
  /** Begins at the newest change: a node loads its views whole at start, then follows the feed. */
  start(): Promise<void>;
  /** Stops following; changes already read are delivered first. */
  stop(): Promise<void>;
  /** Deletes recorded changes older than `olderThanMinutes` (the leader's job); returns how many. */
  prune(olderThanMinutes: number): Promise<number>;
}

const TOPIC = /^[a-z][a-z0-9.-]{0,63}$/;
const MAX_KEY = 512;

/** A programming error, not input: topics are constants, keys ids the store already accepted. */
export function checkChange(topic: string, key: string | null | undefined): void {
  if (!TOPIC.test(topic)) throw new TypeError(`change topic must match ${TOPIC}, got ${JSON.stringify(topic)}`);
  if (key !== null && key !== undefined && (key.length === 0 || key.length > MAX_KEY)) {
    throw new TypeError(`change key must be 1..${MAX_KEY} characters`);
  }
}

/** Subscribers, each called in turn; a failing handler is reported and does not stop the others. */
export function createSubscribers(onError: (err: unknown) => void) {
  const handlers = new Set<ChangeHandler>();
  return {
    add(handler: ChangeHandler): () => void {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    async deliver(change: Change): Promise<void> {
      for (const handler of [...handlers]) {
        try {
          await handler(change);
        } catch (err) {
          onError(err);
        }
      }
    },
  };
}

/**
 * The feed of a single SQLite process (one writer per file, so the only
 * node is this one). Pending changes sit in a connection-local TEMP table,
 * written in the publisher's transaction: a rollback (or a rolled-back
 * savepoint) takes them away with everything else. They are read and
 * delivered from outside any transaction, which on the SQLite engine waits
 * until the open transaction has ended — so delivery follows the commit.
 *
 * Create it at the composition root, outside any transaction: its reads
 * run in the async context it was created in.
 */
export function createInProcessChangeFeed(sql: Sql, opts: { onError?: (err: unknown) => void } = {}): ChangeFeed {
  const onError = opts.onError ?? (() => {});
  const subscribers = createSubscribers(onError);
  const outside = new AsyncResource('ota-change-feed');
  let started = false;
  let draining: Promise<void> = Promise.resolve();

  const readAndDeliver = async (): Promise<void> => {
    const rows = await sql.all<Change>('SELECT seq, topic, key FROM temp.ota_changes ORDER BY seq');
    if (rows.length === 0) return;
    await sql.run('DELETE FROM temp.ota_changes WHERE seq <= ?', [(rows[rows.length - 1] as Change).seq]);
    for (const change of rows) await subscribers.deliver(change);
  };
  /** One drain at a time, so no change is read twice. */
  const drain = (): Promise<void> =>
    (draining = draining.then(() => outside.runInAsyncScope(readAndDeliver)).catch(onError));

  return {
    async publish(topic, key = null) {
      checkChange(topic, key);
      if (!started) throw new Error('change feed not started');
      await sql.run('INSERT INTO temp.ota_changes (topic, key) VALUES (?, ?)', [topic, key]);
      // Inside a transaction the drain waits for it to end; awaiting it here would deadlock.
      if (sql.inTransaction()) void drain();
      else await drain();
    },
    subscribe: (handler) => subscribers.add(handler),
    async start() {
      // AUTOINCREMENT: a seq is never reused after the delivered rows are deleted.
      await outside.runInAsyncScope(() =>
        sql.exec('CREATE TEMP TABLE IF NOT EXISTS ota_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT)'),
      );
      started = true;
    },
    async stop() {
      started = false;
      await draining;
    },
    // Delivered changes are deleted at once: nothing accumulates.
    prune: async () => 0,
  };
}
