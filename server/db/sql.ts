/**
 * The one way a store reaches its database (protocol §9: SQLite or
 * PostgreSQL, chosen at the composition root; domain logic and routes do
 * not know which runs).
 *
 * SQL is written once with `?` placeholders in the subset both engines
 * share (quoted camelCase aliases, `ON CONFLICT`, `RETURNING`); where the
 * two differ a store uses `sql.dialect` or `sql.lockUntilCommit`, so only
 * server/db/ spells anything per engine (issue 16). `engine` is the one
 * signal of which engine runs, for the infrastructure that is itself
 * engine-specific: outside server/db/ only server/cluster/node-change-feed.ts
 * and leadership.ts read it (an in-memory feed and an always-leader for the
 * one SQLite process; LISTEN/NOTIFY and a session lock, which need a
 * dedicated PostgreSQL connection, for several nodes), and
 * postgres-change-feed.ts is PostgreSQL's feed itself. A transaction travels with the
 * async context: every call made inside `transaction(work)` — in this
 * store or another — runs on the transaction's connection, so stores keep
 * plain signatures and services compose them into one atomic change.
 */
export type SqlValue = string | number | bigint | Buffer | null;

export type Engine = 'sqlite' | 'postgres';

export interface TransactionOptions {
  /**
   * false: the commit may return before it reaches the disk. Only for
   * write-behind of what nobody was promised (poll activity); the next
   * durable commit carries it to disk with its own.
   */
  durable?: boolean;
  /**
   * A cluster-wide lock (server/cluster/advisory-locks.ts) held from the
   * start of the transaction until it ends, as `lockUntilCommit` would take
   * it first thing — but on PostgreSQL in the same round trip as BEGIN: the
   * group commits and the write-behind take it once per group, and each
   * round trip there is one the whole group waits for.
   */
  lock?: number;
}

/** The few spellings the two engines do not share, so a store writes one statement for both. */
export interface Dialect {
  /**
   * A FROM item whose rows are the elements, as text in column `value`, of
   * the JSON array bound to its one `?` (SQLite json_each, PostgreSQL
   * json_array_elements_text). After it, an INSERT … SELECT that ends in
   * ON CONFLICT needs a WHERE clause (SQLite's parser: `WHERE true`).
   */
  readonly jsonTextElements: string;
  /**
   * `INDEXED BY <index> ` on SQLite, whose planner otherwise walks the
   * wrong index on the status and audit pages (docs/benchmarks.md);
   * '' on PostgreSQL, whose planner chooses well alone.
   */
  indexedBy(index: string): string;
}

export interface Sql {
  /** Which engine runs: for server/db/ and the engine-specific infrastructure only (see above). */
  readonly engine: Engine;
  readonly dialect: Dialect;
  /** Every row. */
  all<T>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T>(text: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** The first column of the first row, or undefined (counts, single ids). */
  value<T>(text: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A write; resolves with how many rows it changed. */
  run(text: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `work` in one transaction and commits when it resolves, rolls
   * back when it throws. Called inside a transaction it is a savepoint:
   * its own failure rolls back its own writes only. Calls that `work`
   * makes without awaiting each other run in the order they were made; on
   * PostgreSQL they are sent without waiting for each other's answers
   * (node-postgres pipeline mode), so `together` costs one round trip.
   */
  transaction<T>(work: () => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** True when the caller runs inside one of this Sql's open transactions. */
  inTransaction(): boolean;
  /**
   * Inside a transaction: waits for the cluster-wide lock `key` (keys:
   * server/cluster/advisory-locks.ts) and holds it until the transaction
   * ends — pg_advisory_xact_lock on PostgreSQL. Nothing to wait for on
   * SQLite, whose one writer process already runs one transaction at a time.
   */
  lockUntilCommit(key: number): Promise<void>;
  /** Several schema statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A write refused because the row's key already exists (either engine). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Independent calls of one transaction, sent together: `together([a(), b()])`
 * starts both at once, so on PostgreSQL their statements leave in one burst
 * and the caller waits for one round trip instead of one each (issue 20: a
 * group commit's cycle is its round trips, one after another). Resolves with
 * every result once all are answered; if any failed, throws the first
 * failure (in the order given) after the others have ended — the
 * transaction is then aborted on PostgreSQL and the caller's rollback
 * follows them on the same connection.
 *
 * They run in the order given only because each is a store call that sends
 * its one statement as it is called, so: only calls whose statements do not
 * read each other's writes; no call that awaits anything before its
 * statement or sends several (those would interleave with the others); no
 * nested `transaction` (savepoints must not overlap); no call that catches
 * its own error (COMMIT would then find the transaction aborted). Outside a
 * transaction the calls take separate pooled connections, in no order.
 */
export async function together<T extends readonly unknown[]>(calls: readonly [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const settled = await Promise.allSettled(calls as readonly Promise<unknown>[]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
