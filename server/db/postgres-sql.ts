import { AsyncLocalStorage } from 'node:async_hooks';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Dialect, Sql, SqlValue, TransactionOptions } from './sql.js';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database (never logged: it may hold a password). */
  url: string;
  /** Connections this process keeps at most (default 10). */
  poolSize?: number;
  /** How long a caller waits for a connection before its call fails (ms, default 5000). */
  connectTimeoutMs?: number;
  /** The server cancels a statement running longer than this (ms, default 30000; 0 = never). */
  statementTimeoutMs?: number;
  /** An idle pooled connection is closed after this long (ms, default 30000). */
  idleTimeoutMs?: number;
  /**
   * Named prepared statements: each connection parses a statement text once
   * and then only binds and executes it. Default true (measured: see
   * docs/protocol-notes.md "PostgreSQL engine").
   */
  prepare?: boolean;
  /** Told to PostgreSQL (pg_stat_activity), default "ota-server". */
  applicationName?: string;
  /** Hears of connections lost outside any call (idle in the pool, or under an open transaction), e.g. to log them. */
  onConnectionError?: (e: Error) => void;
}

/** One open top-level transaction: its connection, savepoint depth, and whether it is still open. */
interface Frame {
  client: pg.PoolClient;
  depth: number;
  open: boolean;
  /** The connection failed while checked out: destroy it instead of returning it to the pool. */
  broken: boolean;
}

/** COMMIT found the transaction aborted by an earlier failed statement (see transaction()). */
export class TransactionAbortedError extends Error {}

/** int8 and numeric as JS numbers: every integer we store is below 2^53 (issue 10 design §2). */
const INT8 = 20;
const NUMERIC = 1700;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

const postgresDialect: Dialect = {
  jsonTextElements: 'json_array_elements_text(?::json)',
  indexedBy: () => '',
};

/**
 * Rewrites `?` placeholders to `$1..$n`, leaving string literals, quoted
 * identifiers and comments alone (the shared dialect: design §2).
 */
export function numberPlaceholders(text: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * BEGIN and what a transaction must do first, in one round trip (a simple
 * query: no parameters, so several statements may share it).
 */
function beginText(opts: TransactionOptions): string {
  const parts = ['BEGIN'];
  // durable:false — the commit returns before its WAL reaches the disk (poll write-behind only).
  if (opts.durable === false) parts.push('SET LOCAL synchronous_commit = off');
  if (opts.lock !== undefined) {
    // Spelled into the text: only the integer keys of server/cluster/advisory-locks.ts come here.
    if (!Number.isSafeInteger(opts.lock)) throw new TypeError(`an advisory lock key is an integer, not ${String(opts.lock)}`);
    parts.push(`SELECT pg_advisory_xact_lock(${opts.lock})`);
  }
  return parts.join('; ');
}

/**
 * The shared engine behind the async Sql interface, over a node-postgres
 * pool. Outside a transaction each call takes any pooled connection; a
 * transaction holds one connection for its whole life and every call made
 * in its async context (AsyncLocalStorage) runs on it, so stores compose
 * into one atomic change without passing a handle around. A nested
 * transaction is a savepoint. A lost connection rejects the calls that
 * used it (callers answer 503 `unavailable`) and is dropped from the pool;
 * it never takes the process down.
 */
export function postgresSql(opts: PostgresOptions): Sql & { readonly pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    statement_timeout: opts.statementTimeoutMs ?? 30_000,
    // A transaction whose process stalls must not hold its locks for ever.
    idle_in_transaction_session_timeout: 60_000,
    application_name: opts.applicationName ?? 'ota-server',
    keepAlive: true,
    types,
    // A transaction's calls made together (sql.ts `together`) leave without waiting for each other's
    // answers; calls awaited one by one behave as without it. Needs node-postgres 8.23 or later.
    pipeline: true,
  });
  // An idle pooled connection that dies (server restart, network) is reported here; the pool drops it.
  const lost = (e: Error): void => {
    try {
      opts.onConnectionError?.(e);
    } catch {
      // A failing listener must not turn a lost connection into a crash.
    }
  };
  pool.on('error', lost);
  const prepare = opts.prepare ?? true;

  /** Rewritten text and statement name per SQL text (the texts are the stores' constants: a bounded set). */
  let named = 0;
  // Bounded for a caller that builds statement texts (the stores' are a few hundred); the least recently used go.
  const statements = new LRUCache<string, { text: string; name: string | undefined }>({ max: 10_000 });
  const statement = (sqlText: string): { text: string; name: string | undefined } => {
    let s = statements.get(sqlText);
    if (!s) {
      // Names never repeat within this pool, also after an eviction: a connection keeps what it prepared.
      s = { text: numberPlaceholders(sqlText), name: prepare ? `ota_${++named}` : undefined };
      statements.set(sqlText, s);
    }
    return s;
  };

  const context = new AsyncLocalStorage<Frame>();
  const current = (): Frame | undefined => {
    const frame = context.getStore();
    return frame?.open ? frame : undefined;
  };
  const query = async <R extends pg.QueryResultRow>(sqlText: string, params: readonly SqlValue[] | undefined, rowMode?: 'array'): Promise<pg.QueryResult<R>> => {
    const s = statement(sqlText);
    const config: pg.QueryConfig = { text: s.text, values: params ? (params as unknown[]) : [] };
    if (s.name) config.name = s.name;
    if (rowMode) (config as pg.QueryArrayConfig).rowMode = rowMode;
    const frame = current();
    try {
      return (await (frame ? frame.client.query(config) : pool.query(config))) as pg.QueryResult<R>;
    } catch (e) {
      // "cached plan must not change result type": another node migrated a table under a statement
      // this connection prepared (rolling upgrade). PostgreSQL keeps refusing that prepared statement,
      // so the text gets a new name, prepared afresh on each connection. Outside a transaction this
      // call is retried; inside one the transaction is already aborted, so the error stands.
      if (!s.name || (e as { code?: string }).code !== '0A000') throw e;
      s.name = `ota_${++named}`;
      if (frame) throw e;
      config.name = s.name;
      return (await pool.query(config)) as pg.QueryResult<R>;
    }
  };

  const savepoint = async <T>(frame: Frame, work: () => Promise<T>): Promise<T> => {
    const name = `sp${++frame.depth}`;
    try {
      await frame.client.query(`SAVEPOINT ${name}`);
      let result: T;
      try {
        result = await work();
      } catch (e) {
        // If even this fails the connection is gone: the outer transaction's next call or its COMMIT says so.
        await frame.client.query(`ROLLBACK TO ${name}; RELEASE ${name}`).catch(() => undefined);
        throw e;
      }
      await frame.client.query(`RELEASE ${name}`);
      return result;
    } finally {
      frame.depth--;
    }
  };

  const sql = {
    engine: 'postgres' as const,
    dialect: postgresDialect,
    pool,
    async all<T>(text: string, p?: readonly SqlValue[]): Promise<T[]> {
      return (await query(text, p)).rows as T[];
    },
    async one<T>(text: string, p?: readonly SqlValue[]): Promise<T | undefined> {
      return (await query(text, p)).rows[0] as T | undefined;
    },
    async value<T>(text: string, p?: readonly SqlValue[]): Promise<T | undefined> {
      const row = (await query<unknown[]>(text, p, 'array')).rows[0] as unknown[] | undefined;
      return row?.[0] as T | undefined;
    },
    async run(text: string, p?: readonly SqlValue[]): Promise<number> {
      return (await query(text, p)).rowCount ?? 0;
    },
    async transaction<T>(work: () => Promise<T>, topts: TransactionOptions = {}): Promise<T> {
      const outer = current();
      if (outer) return savepoint(outer, work);
      const client = await pool.connect();
      const frame: Frame = { client, depth: 0, open: true, broken: false };
      // A checked-out connection that fails emits 'error' on itself; without a listener that would end the process.
      const onError = (e: Error): void => {
        frame.broken = true;
        lost(e);
      };
      client.on('error', onError);
      try {
        try {
          await client.query(beginText(topts));
        } catch (e) {
          // BEGIN ran but what followed it in the same round trip failed (a lock wait cancelled):
          // end that transaction before the connection goes back to the pool.
          await client.query('ROLLBACK').catch(() => (frame.broken = true));
          throw e;
        }
        let result: T;
        try {
          result = await context.run(frame, work);
        } catch (e) {
          frame.open = false;
          await client.query('ROLLBACK').catch(() => (frame.broken = true));
          throw e;
        }
        frame.open = false;
        let ended: pg.QueryResult;
        try {
          ended = await client.query('COMMIT');
        } catch (e) {
          frame.broken = true;
          throw e;
        }
        // A statement failed inside and its error was caught without a savepoint: PostgreSQL has
        // aborted the transaction and answers COMMIT with ROLLBACK. Nothing was written; say so.
        if (ended.command === 'ROLLBACK') {
          throw new TransactionAbortedError('the transaction was rolled back: a statement in it failed and its error was caught outside a nested transaction (savepoint)');
        }
        return result;
      } catch (e) {
        // Statement errors carry a SQLSTATE; anything else (socket closed, timeout) means the connection is gone.
        if (typeof (e as { code?: unknown }).code !== 'string' || !/^[0-9A-Z]{5}$/.test((e as { code: string }).code)) frame.broken = true;
        throw e;
      } finally {
        frame.open = false;
        client.removeListener('error', onError);
        if (frame.broken) client.on('error', () => {});
        client.release(frame.broken ? true : undefined);
      }
    },
    inTransaction(): boolean {
      return current() !== undefined;
    },
    async lockUntilCommit(key: number): Promise<void> {
      await query('SELECT pg_advisory_xact_lock(?)', [key]);
    },
    async exec(text: string): Promise<void> {
      const frame = current();
      await (frame ? frame.client.query(text) : pool.query(text));
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
  return sql;
}
