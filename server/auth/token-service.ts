import type { AuditStore } from '../audit/audit-store.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { OperatorTokenStore, TokenInfo } from './operator-token-store.js';
import type { OperatorRole } from './principal.js';

export type TokenService = ReturnType<typeof createTokenService>;

/** Operator tokens' creation and revocation (issue 9), each in one transaction with its audit entry. */
export function createTokenService(deps: {
  sql: Pick<Sql, 'transaction'>;
  operatorTokens: Pick<OperatorTokenStore, 'create' | 'get' | 'activeAdmins' | 'revoke'>;
  audit: Pick<AuditStore, 'append'>;
}) {
  const { sql, operatorTokens } = deps;
  return {
    create: (role: OperatorRole, name: string, actor: string, at: string): Promise<{ id: number; token: string }> =>
      sql.transaction(async () => {
        const t = await operatorTokens.create(role, name, at);
        await deps.audit.append({ actor, action: 'token.create', subject: `token:${t.id}`, details: { role, name } }, at);
        return t;
      }),
    revoke: (id: number, actor: string, at: string): Promise<TokenInfo> =>
      sql.transaction(async () => {
        const before = await operatorTokens.get(id);
        if (!before) throw new AppError('not_found', `no token ${id}`);
        // Over HTTP the last admin cannot lock every admin out; `ota token create --data DIR` on the server can always mint one.
        if (before.role === 'admin' && before.revokedAt === null && (await operatorTokens.activeAdmins()) === 1) {
          throw new AppError('conflict', 'this is the last active admin token: create another admin token before revoking it');
        }
        // DELETE is idempotent: revoking a revoked token changes nothing and is not logged again.
        if (await operatorTokens.revoke(id, at)) {
          await deps.audit.append({ actor, action: 'token.revoke', subject: `token:${id}`, details: { role: before.role, name: before.name } }, at);
        }
        return (await operatorTokens.get(id)) as TokenInfo;
      }),
  };
}
