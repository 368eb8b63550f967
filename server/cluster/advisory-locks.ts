/**
 * PostgreSQL advisory lock keys of the cluster (protocol §9), one place so
 * no two mechanisms ever share a key. Values are arbitrary but fixed: every
 * node of every version must use the same ones. 0x4f5441 is "OTA".
 */
export const ADVISORY_LOCK = {
  /** Held by the leader's dedicated session for as long as it leads. */
  leader: 0x4f54_4101,
  /** Taken (transaction-scoped) by every writer of `changes`, so seq order is commit order. */
  changes: 0x4f54_4102,
} as const;
