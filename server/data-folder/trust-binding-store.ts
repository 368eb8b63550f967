import type { Sql } from '../db/sql.js';
import type { TrustBinding } from './trust-binding.js';

export type TrustBindingStore = ReturnType<typeof createTrustBindingStore>;

/** The one row saying which trust root the data folder's state was made under. */
export function createTrustBindingStore(sql: Sql) {
  return {
    async get(): Promise<TrustBinding | undefined> {
      const row = await sql.one<{ anchor: string; root_keyids: string; version: number }>('SELECT anchor, root_keyids, version FROM trust_binding WHERE id = 1');
      return row && { anchor: row.anchor, rootKeyids: JSON.parse(row.root_keyids) as string[], version: row.version };
    },
    async save(b: TrustBinding, at: string): Promise<void> {
      await sql.run(`INSERT INTO trust_binding (id, anchor, root_keyids, version, bound_at) VALUES (1, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET anchor = excluded.anchor, root_keyids = excluded.root_keyids, version = excluded.version, bound_at = excluded.bound_at`,
      [b.anchor, JSON.stringify(b.rootKeyids), b.version, at]);
    },
  };
}
