import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { makeApp, type AppFixture } from '../helpers/fixtures.js';
import { OPERATOR_ROUTES, type OperatorRoute } from './route-table.js';

const call = (app: AppFixture['app'], r: OperatorRoute, authorization?: string) => {
  const req = request(app)[r.method](r.path);
  return authorization === undefined ? req : req.set('Authorization', authorization);
};

const expectError = (res: request.Response, status: number, code: string) => {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  expect(typeof (res.body as { error: { message: unknown } }).error.message).toBe('string');
};

const GARBAGE = [
  ['no scheme', 'ota_abcdefghijklmnopqrstuvwxyz'],
  ['unknown token', 'Bearer ota_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['basic auth', 'Basic YWRtaW46YWRtaW4='],
  ['empty bearer', 'Bearer '],
  ['token with bad characters', 'Bearer ota_<script>alert(1)</script>'],
] as const;

const cases = OPERATOR_ROUTES.flatMap((r) => [
  ...[['no token', undefined] as const, ...GARBAGE].map(([what, header]) => ({ r, what, header, role: undefined as OperatorRole | undefined })),
  ...OPERATOR_ROLES.map((role) => ({ r, what: role, header: undefined as string | undefined, role })),
]);

describe('operator routes: 401 without a valid token, 403 for other roles (protocol §7)', () => {
  it('the table covers every operator role', () => {
    expect(OPERATOR_ROLES).toContain('enroller');
    for (const r of OPERATOR_ROUTES) expect(r.allowed).not.toContain('enroller');
  });

  it.each(cases)('$r.method $r.path — $what', async ({ r, header, role }) => {
    // One app per case: makeApp's temp folders are removed after each test.
    const f = await makeApp();
    if (role === undefined) {
      const res = await call(f.app, r, header);
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer');
      return;
    }
    const res = await call(f.app, r, `Bearer ${f.tokens[role]}`);
    if (r.allowed.includes(role)) {
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expectError(res, 403, 'forbidden');
    }
  });

  it('a revoked token is refused (401)', async () => {
    const f = await makeApp();
    const t = (await f.ctx.operatorTokens.create('admin', 'to-revoke', '2026-11-24T00:00:00Z'));
    await f.ctx.operatorTokens.revoke(t.id, '2026-11-24T01:00:00Z');
    expectError(await request(f.app).get('/v1/releases').set('Authorization', `Bearer ${t.token}`), 401, 'unauthorized');
  });
});
