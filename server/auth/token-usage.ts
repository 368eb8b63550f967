import type { Sql } from '../db/sql.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { OperatorTokenStore } from './operator-token-store.js';

export type TokenUsage = ReturnType<typeof createTokenUsage>;

/**
 * When each operator token was last used, kept in memory on the request
 * path (one Map write) and written in one transaction per flush (serve.ts:
 * every few seconds, and at close), so authentication never waits on a
 * write. Listings read through `latest`, so they are never behind.
 */
export function createTokenUsage(sql: Sql, store: OperatorTokenStore, now: () => Date) {
  const pending = new Map<number, string>();
  return {
    touch(tokenId: number): void {
      pending.set(tokenId, toTimestamp(now()));
    },
    /** The newest known last-use: pending beats stored. */
    latest(tokenId: number, stored: string | null): string | null {
      return pending.get(tokenId) ?? stored;
    },
    async flush(): Promise<number> {
      if (pending.size === 0) return 0;
      const batch = [...pending];
      pending.clear();
      await sql.transaction(async () => {
        for (const [id, at] of batch) await store.markUsed(id, at);
      });
      return batch.length;
    },
  };
}
