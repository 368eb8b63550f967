import type { Sql } from '../db/sql.js';

/**
 * PostgreSQL advisory lock keys of the cluster (protocol §9), one place so
 * no two mechanisms ever share a key. Values are arbitrary but fixed: every
 * node of every version must use the same ones. 0x4f5441 is "OTA".
 *
 * Transaction-scoped locks are always taken in this order — fleetWrites,
 * history, changes — so two nodes' transactions can wait for each other
 * but never deadlock.
 */
export const ADVISORY_LOCK = {
  /** Held by the leader's dedicated session for as long as it leads. */
  leader: 0x4f54_4101,
  /** Taken (transaction-scoped) by every writer of `changes`, so seq order is commit order. */
  changes: 0x4f54_4102,
  /**
   * The audit chain and the transparency log: each append reads the head and
   * writes the next entry, so appends from several nodes take turns and both
   * stay single, linear histories.
   */
  history: 0x4f54_4103,
  /**
   * The fleet's hot rows (devices, rollout_devices, rollout_counters) are
   * written by report and enrollment batches, the poll write-behind and the
   * health pass, each touching many rows in no fixed order. One batch at a
   * time across the cluster keeps them from deadlocking on each other; each
   * batch still carries many requests under one commit.
   */
  fleetWrites: 0x4f54_4104,
  /** Taken (transaction-scoped) by the PostgreSQL migrator: nodes starting together apply each migration once. */
  migrations: 0x6f74_6100_01,
} as const;

/**
 * Inside a transaction: waits for the cluster-wide lock and holds it until
 * the transaction ends (how, per engine, is server/db's: Sql.lockUntilCommit).
 */
export async function holdUntilCommit(sql: Pick<Sql, 'lockUntilCommit'>, key: number): Promise<void> {
  await sql.lockUntilCommit(key);
}
