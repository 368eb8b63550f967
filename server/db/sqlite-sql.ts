import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Dialect, Sql, SqlValue, TransactionOptions } from './sql.js';

/** One open transaction: its savepoint depth, and whether it is still open (detached work may outlive it). */
interface Frame {
  depth: number;
  open: boolean;
}

/**
 * The embedded engine behind the async Sql interface. better-sqlite3 runs
 * each statement synchronously on one connection, so statements are fast
 * but a transaction is connection-wide: while one is open, a statement from
 * any other async context would land inside it. Such statements wait for
 * the transaction to end (a gate on the connection); statements inside it
 * run at once. Statements are prepared once per text.
 */
const sqliteDialect: Dialect = {
  jsonTextElements: 'json_each(?)',
  indexedBy: (index) => `INDEXED BY ${index} `,
};

export function sqliteSql(db: Database.Database): Sql {
  const prepared = new Map<string, Database.Statement>();
  const statement = (text: string): Database.Statement => {
    let s = prepared.get(text);
    if (!s) {
      s = db.prepare(text);
      prepared.set(text, s);
    }
    return s;
  };
  const context = new AsyncLocalStorage<Frame>();
  /** The open top-level transaction's frame and the promise that settles when it ends. */
  let open: { frame: Frame; ended: Promise<void> } | undefined;

  const inside = (): boolean => {
    const frame = context.getStore();
    return frame !== undefined && frame.open && open?.frame === frame;
  };
  /**
   * Runs `fn` once no transaction of another context holds the connection.
   * The check and `fn` share one synchronous stretch: nothing can open a
   * transaction between them.
   */
  const whenFree = async <T>(fn: () => T): Promise<T> => {
    while (open && !inside()) await open.ended;
    return fn();
  };
  const params = (p: readonly SqlValue[] | undefined): SqlValue[] => (p ? (p as SqlValue[]) : []);

  const sql: Sql = {
    engine: 'sqlite',
    dialect: sqliteDialect,
    async all<T>(text: string, p?: readonly SqlValue[]): Promise<T[]> {
      return whenFree(() => statement(text).all(...params(p)) as T[]);
    },
    async one<T>(text: string, p?: readonly SqlValue[]): Promise<T | undefined> {
      return whenFree(() => statement(text).get(...params(p)) as T | undefined);
    },
    async value<T>(text: string, p?: readonly SqlValue[]): Promise<T | undefined> {
      return whenFree(() => {
        const s = statement(text);
        const row = s.raw(true).get(...params(p)) as unknown[] | undefined;
        s.raw(false);
        return row?.[0] as T | undefined;
      });
    },
    async run(text: string, p?: readonly SqlValue[]): Promise<number> {
      return whenFree(() => statement(text).run(...params(p)).changes);
    },
    async transaction<T>(work: () => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
      if (inside()) {
        // A savepoint: its failure undoes its own writes and leaves the outer transaction open.
        const frame = context.getStore() as Frame;
        const name = `sp${++frame.depth}`;
        db.exec(`SAVEPOINT ${name}`);
        try {
          const result = await work();
          db.exec(`RELEASE ${name}`);
          return result;
        } catch (e) {
          db.exec(`ROLLBACK TO ${name}`);
          db.exec(`RELEASE ${name}`);
          throw e;
        } finally {
          frame.depth--;
        }
      }
      // Claimed in the same synchronous stretch as the check (see whenFree).
      while (open) await open.ended;
      const frame: Frame = { depth: 0, open: true };
      let end!: () => void;
      open = { frame, ended: new Promise<void>((resolve) => (end = resolve)) };
      // opts.lock: nothing to take (see lockUntilCommit below).
      const relaxed = opts.durable === false;
      try {
        if (relaxed) db.pragma('synchronous = NORMAL');
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await context.run(frame, work);
          db.exec('COMMIT');
          return result;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw e;
        }
      } finally {
        if (relaxed) db.pragma('synchronous = FULL');
        frame.open = false;
        open = undefined;
        end();
      }
    },
    inTransaction: inside,
    // One writer process per file: its transactions already take turns (see whenFree).
    lockUntilCommit: async () => {},
    async exec(text: string): Promise<void> {
      return whenFree(() => void db.exec(text));
    },
    async close(): Promise<void> {
      return whenFree(() => void db.close());
    },
  };
  return sql;
}
