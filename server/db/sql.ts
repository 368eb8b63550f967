/**
 * The one way a store reaches its database (protocol §9: SQLite or
 * PostgreSQL, chosen at the composition root; domain logic and routes do
 * not know which runs).
 *
 * SQL is written once with `?` placeholders in the subset both engines
 * share (quoted camelCase aliases, `ON CONFLICT`, `RETURNING`); where the
 * two differ a store asks `sql.engine`. A transaction travels with the
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
}

export interface Sql {
  readonly engine: Engine;
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
   * its own failure rolls back its own writes only.
   */
  transaction<T>(work: () => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** True when the caller runs inside one of this Sql's open transactions. */
  inTransaction(): boolean;
  /** Several schema statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A write refused because the row's key already exists (either engine). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
