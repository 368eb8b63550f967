import type { Db } from '../db/open.js';
import { newToken, sameHash, tokenHash } from './tokens.js';
import type { OperatorRole, Principal } from './principal.js';

interface TokenRow {
  id: number;
  token_hash: string;
  role: OperatorRole;
  name: string;
}

export type OperatorTokenStore = ReturnType<typeof createOperatorTokenStore>;

export function createOperatorTokenStore(db: Db) {
  const insert = db.prepare('INSERT INTO operator_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?)');
  const byHash = db.prepare<[string], TokenRow>(
    'SELECT id, token_hash, role, name FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL',
  );
  const revokeStmt = db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const listStmt = db.prepare<[], { id: number; role: string; name: string; created_at: string; revoked_at: string | null }>(
    'SELECT id, role, name, created_at, revoked_at FROM operator_tokens ORDER BY id',
  );

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
    list: () => listStmt.all(),
  };
}
