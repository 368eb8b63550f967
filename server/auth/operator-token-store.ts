import type { Sql } from '../db/sql.js';
import { newToken, sameHash, tokenHash } from './tokens.js';
import type { OperatorRole, Principal } from './principal.js';

interface TokenRow {
  id: number;
  token_hash: string;
  role: OperatorRole;
  name: string;
}

interface InfoRow {
  id: number;
  role: OperatorRole;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** What may be shown about a token: never its secret or its hash. */
export interface TokenInfo {
  id: number;
  role: OperatorRole;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const toInfo = (r: InfoRow): TokenInfo => ({ id: r.id, role: r.role, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at });

export type OperatorTokenStore = ReturnType<typeof createOperatorTokenStore>;

export function createOperatorTokenStore(sql: Sql) {
  const INFO = 'SELECT id, role, name, created_at, last_used_at, revoked_at FROM operator_tokens';

  return {
    /** Creates a token and returns it once; only its hash is kept. */
    async create(role: OperatorRole, name: string, at: string): Promise<{ id: number; token: string }> {
      const token = newToken('ota');
      const id = await sql.value<number>('INSERT INTO operator_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?) RETURNING id',
        [tokenHash(token), role, name, at]);
      return { id: Number(id), token };
    },
    async authenticate(token: string): Promise<Principal | undefined> {
      const hash = tokenHash(token);
      const row = await sql.one<TokenRow>('SELECT id, token_hash, role, name FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL', [hash]);
      // The index lookup finds the row; the constant-time compare is the check.
      if (!row || !sameHash(row.token_hash, hash)) return undefined;
      return { kind: 'operator', role: row.role, name: row.name, tokenId: row.id };
    },
    revoke: async (id: number, at: string): Promise<boolean> =>
      (await sql.run('UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) === 1,
    activeAdmins: async (): Promise<number> =>
      (await sql.value<number>("SELECT COUNT(*) FROM operator_tokens WHERE role = 'admin' AND revoked_at IS NULL")) ?? 0,
    get: async (id: number): Promise<TokenInfo | undefined> => {
      const row = await sql.one<InfoRow>(`${INFO} WHERE id = ?`, [id]);
      return row && toInfo(row);
    },
    page: async (afterId: number, limit: number): Promise<TokenInfo[]> => (await sql.all<InfoRow>(`${INFO} WHERE id > ? ORDER BY id LIMIT ?`, [afterId, limit])).map(toInfo),
    /** Writes last-used times (caller's transaction); see token-usage.ts. Monotonic: a late batch never moves last-used backwards. */
    async markUsed(id: number, at: string): Promise<void> {
      await sql.run('UPDATE operator_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [at, id, at]);
    },
  };
}
