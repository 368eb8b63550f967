import type { Db } from '../db/open.js';
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

export function createOperatorTokenStore(db: Db) {
  const insert = db.prepare('INSERT INTO operator_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?)');
  const byHash = db.prepare<[string], TokenRow>(
    'SELECT id, token_hash, role, name FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL',
  );
  const revokeStmt = db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const activeAdminsStmt = db.prepare<[], number>("SELECT COUNT(*) FROM operator_tokens WHERE role = 'admin' AND revoked_at IS NULL").pluck();
  const INFO = 'SELECT id, role, name, created_at, last_used_at, revoked_at FROM operator_tokens';
  const pageStmt = db.prepare<[number, number], InfoRow>(`${INFO} WHERE id > ? ORDER BY id LIMIT ?`);
  const getStmt = db.prepare<[number], InfoRow>(`${INFO} WHERE id = ?`);
  // Monotonic: a late batch never moves last-used backwards.
  const usedStmt = db.prepare('UPDATE operator_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');

  return {
    /** Creates a token and returns it once; only its hash is kept. */
    create(role: OperatorRole, name: string, at: string): { id: number; token: string } {
      const token = newToken('ota');
      const info = insert.run(tokenHash(token), role, name, at);
      return { id: Number(info.lastInsertRowid), token };
    },
    authenticate(token: string): Principal | undefined {
      const hash = tokenHash(token);
      const row = byHash.get(hash);
      // The index lookup finds the row; the constant-time compare is the check.
      if (!row || !sameHash(row.token_hash, hash)) return undefined;
      return { kind: 'operator', role: row.role, name: row.name, tokenId: row.id };
    },
    revoke: (id: number, at: string): boolean => revokeStmt.run(at, id).changes === 1,
    activeAdmins: (): number => activeAdminsStmt.get() as number,
    get: (id: number): TokenInfo | undefined => {
      const row = getStmt.get(id);
      return row && toInfo(row);
    },
    page: (afterId: number, limit: number): TokenInfo[] => pageStmt.all(afterId, limit).map(toInfo),
    /** Writes last-used times (caller's transaction); see token-usage.ts. */
    markUsed(id: number, at: string): void {
      usedStmt.run(at, id, at);
    },
  };
}
