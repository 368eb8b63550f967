import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { tokenHash } from '../../server/auth/tokens.js';
import { openDatabase } from '../../server/db/open.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';
import { createTestDatabase } from '../helpers/database.js';
import { bearer, makeApp, tempDir } from '../helpers/fixtures.js';

const lastUsedInDb = async (f: Awaited<ReturnType<typeof makeApp>>, id: number) =>
  ((await f.ctx.sql.one('SELECT last_used_at AS v FROM operator_tokens WHERE id = ?', [id])) as { v: string | null }).v;

describe('operator tokens over HTTP (admin only)', () => {
  it('POST shows the secret once; GET lists id, role, name, created, last used and never a secret or hash; DELETE revokes at once', async () => {
    const f = await makeApp();
    const admin = bearer(f.tokens.admin);
    const created = await request(f.app).post('/v1/tokens').set(admin).send({ role: 'qa', name: 'ci bot' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), role: 'qa', name: 'ci bot', createdAt: '2026-11-24T12:00:00Z', token: expect.stringMatching(/^ota_[A-Za-z0-9_-]{43}$/) });
    const { id, token } = created.body as { id: number; token: string };

    expect((await request(f.app).get('/v1/rollouts').set(bearer(token))).status).toBe(200);
    f.clock.now = new Date('2026-11-24T12:05:00Z');
    expect((await request(f.app).get('/v1/rollouts').set(bearer(token))).status).toBe(200);
    // The use is noted in memory, not written on the request's path…
    expect(await lastUsedInDb(f, id)).toBeNull();
    const list = await request(f.app).get('/v1/tokens').set(admin);
    expect(list.status).toBe(200);
    const mine = (list.body as { tokens: Record<string, unknown>[] }).tokens.find((t) => t.id === id);
    // …yet listings are never behind.
    expect(mine).toEqual({ id, role: 'qa', name: 'ci bot', createdAt: '2026-11-24T12:00:00Z', lastUsedAt: '2026-11-24T12:05:00Z', revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(JSON.stringify(list.body)).not.toContain(tokenHash(token));
    expect(Object.keys(mine ?? {}).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role']);
    // The batch writes it; a late, older batch never moves it back.
    expect((await f.ctx.tokenUsage.flush())).toBeGreaterThanOrEqual(1);
    expect(await lastUsedInDb(f, id)).toBe('2026-11-24T12:05:00Z');
    await f.ctx.operatorTokens.markUsed(id, '2026-11-24T12:01:00Z');
    expect(await lastUsedInDb(f, id)).toBe('2026-11-24T12:05:00Z');

    const revoked = await request(f.app).delete(`/v1/tokens/${id}`).set(admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, revokedAt: '2026-11-24T12:05:00Z' });
    const refused = await request(f.app).get('/v1/rollouts').set(bearer(token));
    expect(refused.status).toBe(401);
    // Idempotent: the same answer, one audit entry.
    expect((await request(f.app).delete(`/v1/tokens/${id}`).set(admin)).body).toEqual(revoked.body);
    const audit = (await f.ctx.audit.page(0, 100)).filter((e) => e.subject === `token:${id}`);
    expect(audit.map((e) => [e.action, e.actor, e.details])).toEqual([
      ['token.create', 'operator:test-admin(admin)', { role: 'qa', name: 'ci bot' }],
      ['token.revoke', 'operator:test-admin(admin)', { role: 'qa', name: 'ci bot' }],
    ]);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('bad input is 400/404 and creates or revokes nothing', async () => {
    const f = await makeApp();
    const admin = bearer(f.tokens.admin);
    const before = (await request(f.app).get('/v1/tokens').set(admin)).body as unknown;
    for (const body of [{ role: 'root', name: 'x' }, { role: 'qa' }, { name: 'x' }, { role: 'qa', name: 'x', token: 'ota_mine' }, { role: 'qa', name: ' leading space' }, { role: 'qa', name: 'x'.repeat(65) }]) {
      const res = await request(f.app).post('/v1/tokens').set(admin).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await request(f.app).delete('/v1/tokens/999').set(admin)).body.error).toMatchObject({ code: 'not_found', message: 'no token 999' });
    for (const bad of ['abc', '0', '-1', '1e3']) expect((await request(f.app).delete(`/v1/tokens/${bad}`).set(admin)).status).toBe(400);
    expect((await request(f.app).get('/v1/tokens?cursor=x').set(admin)).status).toBe(400);
    expect((await request(f.app).get('/v1/tokens').set(admin)).body).toEqual(before);
  });

  it('the secret is never cached; the last active admin token cannot be revoked over HTTP', async () => {
    const f = await makeApp();
    const admin = bearer(f.tokens.admin);
    const created = await request(f.app).post('/v1/tokens').set(admin).send({ role: 'admin', name: 'second admin' });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const second = created.body as { id: number; token: string };
    const first = ((await request(f.app).get('/v1/tokens').set(admin)).body as { tokens: { id: number; name: string }[] }).tokens.find((t) => t.name === 'test-admin') as { id: number };
    // Two admins: the second may revoke the first, then cannot revoke itself (no admin would be left).
    expect((await request(f.app).delete(`/v1/tokens/${first.id}`).set(bearer(second.token))).status).toBe(200);
    const last = await request(f.app).delete(`/v1/tokens/${second.id}`).set(bearer(second.token));
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('conflict');
    expect((await request(f.app).get('/v1/whoami').set(bearer(second.token))).status).toBe(200);
  });
});

describe('ota token create|list|revoke', () => {
  it('against a server: the secret alone on stdout, a table without secrets, revocation refused on the next request', async () => {
    const s = await listen();
    const at = ['--server', s.url, '--token', s.tokens.admin];
    const created = await ota(['token', 'create', '--role', 'viewer', '--name', 'dashboard', ...at]);
    expect(created.code, created.err).toBe(0);
    const token = created.out.trim();
    expect(token).toMatch(/^ota_[A-Za-z0-9_-]{43}$/);
    const id = (/^operator token #(\d+) "dashboard" with role viewer \(shown once, stored hashed on the server\):\n$/.exec(created.err) as RegExpExecArray)[1] as string;

    expect((await ota(['rollout', 'list', '--server', s.url, '--token', token])).code).toBe(0);
    const list = await ota(['token', 'list', ...at]);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^ID\s+ROLE\s+NAME\s+CREATED\s+LAST USED\s+REVOKED\n/);
    expect(list.out).toMatch(new RegExp(`^\\s*${id}\\s+viewer\\s+dashboard\\s+\\S+Z\\s+\\S+Z\\s+-$`, 'm'));
    expect(list.out).not.toContain(token);

    const revoked = await ota(['token', 'revoke', id, ...at]);
    expect(revoked).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^token #${id} "dashboard" \\(viewer\\) revoked at \\S+Z\\n$`)) });
    expect(await ota(['rollout', 'list', '--server', s.url, '--token', token])).toMatchObject({ code: 1, err: 'ota: unauthorized: the token is not valid\n' });
    expect((await ota(['token', 'list', '--server', s.url, '--token', s.tokens['release-manager']])).err).toMatch(/^ota: forbidden: this needs one of the roles: admin\n/);
    expect((await ota(['token', 'revoke', 'x', ...at])).err).toBe('ota: token id must be a positive integer (see ota token list), got "x"\n');
    expect((await ota(['token', 'list', '--data', tempDir(), ...at])).err).toBe('ota: give --data DIR (local database) or --server URL, not both\n');
    expect((await ota(['token', 'list'], { env: { HOME: tempDir() } })).err).toBe("ota: no server: pass --server URL (or set OTA_SERVER, or ota login), or --data DIR to work on a data folder's database\n");
  });

  it('--data works on an existing database and refuses to invent one (a typo)', async () => {
    const typo = join(tempDir(), 'nodata');
    const r = await ota(['token', 'create', '--role', 'enroller', '--data', typo]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(`ota: no database in ${typo} (${join(typo, 'ota.db')} is missing): check --data; a server creates it on its first start (npm start, or ota serve --data ${typo}); `
      + 'on a PostgreSQL deployment, set OTA_DATABASE_URL to the database URL the server uses\n');
    expect(existsSync(typo)).toBe(false);

    const data = tempDir();
    openDatabase(join(data, 'ota.db')).close();
    const made = await ota(['token', 'create', '--role', 'enroller', '--data', data]);
    expect(made.code, made.err).toBe(0);
    expect(made.out.trim()).toMatch(/^ota_[A-Za-z0-9_-]{43}$/);
    expect(made.err).toContain('with role enroller');
    const list = await ota(['token', 'list', '--data', data, '--json']);
    expect(JSON.parse(list.out)).toMatchObject({ tokens: [{ id: 1, role: 'enroller', name: 'cli-enroller', lastUsedAt: null, revokedAt: null }] });
    expect((await ota(['token', 'revoke', '1', '--data', data])).out).toMatch(/^token #1 "cli-enroller" \(enroller\) revoked at /);
    expect((await ota(['token', 'revoke', '7', '--data', data])).err).toBe(`ota: no token 7 in ${data}\n`);
  });

  it('--data with OTA_DATABASE_URL works on PostgreSQL, as the server would (protocol §9), and reports a bad URL without it', async () => {
    const db = await createTestDatabase('postgres');
    try {
      const env = { OTA_DATABASE_URL: db.url };
      // The data folder holds no ota.db: with OTA_DATABASE_URL the state is in PostgreSQL.
      const data = tempDir();
      const made = await ota(['token', 'create', '--role', 'qa', '--name', 'pg-qa', '--data', data], { env });
      expect(made.code, made.err).toBe(0);
      expect(made.err).toContain('stored hashed in PostgreSQL (OTA_DATABASE_URL)');
      expect(existsSync(join(data, 'ota.db'))).toBe(false);
      expect(await db.sql.value('SELECT name FROM operator_tokens WHERE token_hash = ?', [tokenHash(made.out.trim())])).toBe('pg-qa');
      const list = await ota(['token', 'list', '--data', data, '--json'], { env });
      expect(JSON.parse(list.out)).toMatchObject({ tokens: [{ role: 'qa', name: 'pg-qa' }] });
      const bad = await ota(['token', 'list', '--data', data], { env: { OTA_DATABASE_URL: 'mysql://u:secret@h/db' } });
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/^ota: OTA_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
      expect(bad.err).not.toContain('secret');
    } finally {
      await db.drop();
    }
  });
});
