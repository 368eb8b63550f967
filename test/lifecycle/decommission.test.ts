import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createContext } from '../../server/context.js';
import { postgresSql } from '../../server/db/postgres-sql.js';
import { loadTrustFolder } from '../../server/trust/trust-folder.js';
import { createTrustState } from '../../server/trust/trust-state.js';
import { createTestDatabase } from '../helpers/database.js';
import { bearer, makeApp, makeTrust, tempDir, type AppFixture } from '../helpers/fixtures.js';
import { enroll, poll, report } from '../helpers/fleet.js';
import { waitFor } from '../helpers/server-process.js';

const decommission = (f: AppFixture, id: string, token = f.tokens['release-manager']) => request(f.app).delete(`/v1/devices/${id}`).set(bearer(token));
const auditOf = async (f: AppFixture, subject: string) =>
  ((await request(f.app).get('/v1/audit').query({ subject }).set(bearer(f.tokens.viewer))).body as { entries: { action: string; actor: string }[] }).entries;

describe('DELETE /v1/devices/{deviceId} (protocol §7 fleet lifecycle: decommission)', () => {
  it('refuses the token at once (401), keeps the record, logs it once, and is idempotent', async () => {
    const f = await makeApp();
    const token = await enroll(f.app, f.tokens.enroller, 'd1');
    expect((await poll(f.app, 'd1', token)).status).toBe(200);
    expect((await report(f.app, 'd1', token, { seq: 1, releaseId: 'r', rolloutId: 'x', state: 'received', at: '2026-11-24T12:00:00Z' })).status).not.toBe(401);

    expect((await decommission(f, 'd1')).status).toBe(204);
    expect((await poll(f.app, 'd1', token)).status).toBe(401);
    const reports = await report(f.app, 'd1', token, { seq: 2, releaseId: 'r', rolloutId: 'x', state: 'received', at: '2026-11-24T12:00:00Z' });
    expect(reports.status).toBe(401);
    expect((reports.body as { error: { code: string } }).error.code).toBe('unauthorized');
    // The device's own token cannot re-enroll it either.
    expect((await request(f.app).post('/v1/devices').set(bearer(token)).send({ deviceId: 'd1', model: 'redmi-1s', version: '1.4.1' })).status).toBe(401);

    const detail = await request(f.app).get('/v1/devices/d1').set(bearer(f.tokens.viewer));
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ deviceId: 'd1', model: 'redmi-1s', decommissionedAt: '2026-11-24T12:00:00Z' });

    expect((await decommission(f, 'd1', f.tokens.admin)).status).toBe(204);
    const entries = await auditOf(f, 'd1');
    expect(entries.filter((e) => e.action === 'device.decommission')).toHaveLength(1);
    expect(entries.find((e) => e.action === 'device.decommission')?.actor).toBe('operator:test-release-manager(release-manager)');
  });

  it('is for release managers and admins only; 404 for an unknown device, 400 for a bad id', async () => {
    const f = await makeApp();
    await enroll(f.app, f.tokens.enroller, 'd1');
    for (const role of ['viewer', 'qa', 'enroller'] as const) expect((await decommission(f, 'd1', f.tokens[role])).status).toBe(403);
    const deviceToken = await enroll(f.app, f.tokens.enroller, 'd2');
    expect((await decommission(f, 'd1', deviceToken)).status).toBe(403);
    expect((await request(f.app).delete('/v1/devices/d1')).status).toBe(401);
    const missing = await decommission(f, 'nobody');
    expect(missing.status).toBe(404);
    expect((missing.body as { error: { code: string } }).error.code).toBe('not_found');
    expect((await decommission(f, '-bad')).status).toBe(400);
    // Nothing above changed the device.
    expect(((await request(f.app).get('/v1/devices/d1').set(bearer(f.tokens.viewer))).body as { decommissionedAt: unknown }).decommissionedAt).toBeNull();
  });

  it('enrolling the same id again needs an enrollment credential and issues a working token', async () => {
    const f = await makeApp();
    const old = await enroll(f.app, f.tokens.enroller, 'd1', 'redmi-1s', '1.4.1', { region: 'cn' });
    expect((await decommission(f, 'd1')).status).toBe(204);
    const again = await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send({ deviceId: 'd1', model: 'redmi-1s', version: '1.4.2', attributes: { region: 'in' } });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ deviceId: 'd1', reenrolled: true });
    const fresh = (again.body as { deviceToken: string }).deviceToken;
    expect((await poll(f.app, 'd1', fresh, '1.4.2')).status).toBe(200);
    expect((await poll(f.app, 'd1', old)).status).toBe(401);
    const detail = (await request(f.app).get('/v1/devices/d1').set(bearer(f.tokens.viewer))).body as Record<string, unknown>;
    expect(detail).toMatchObject({ version: '1.4.2', attributes: { region: 'in' }, decommissionedAt: null });
    expect((await auditOf(f, 'd1')).map((e) => e.action)).toEqual(['device.decommission', 'device.reinstate']);
    // In service again: an enroller may no longer take the id over.
    expect((await request(f.app).post('/v1/devices').set(bearer(f.tokens.enroller)).send({ deviceId: 'd1', model: 'redmi-1s', version: '1.4.2' })).status).toBe(409);
  });
});

describe('decommission on two nodes of one PostgreSQL database (protocol §9)', () => {
  it('a token cached by the other node is refused there too', async () => {
    const trust = makeTrust();
    const db = await createTestDatabase('postgres', { poolSize: 2 });
    const node = async () => {
      const config = loadConfig({}, { dataDir: tempDir('ota-node-'), trustDir: trust.dir, logLevel: 'silent', demo: false, databaseUrl: db.url, deviceCacheEntries: 1000 });
      const sql = postgresSql({ url: db.url, poolSize: 2 });
      const ctx = await createContext({ config, sql, trust: createTrustState(loadTrustFolder(trust.dir, new Date())), logger: pino({ level: 'silent' }) });
      return { ctx, sql, app: createApp(ctx) };
    };
    const a = await node();
    const b = await node();
    try {
      const enroller = (await a.ctx.operatorTokens.create('enroller', 'e', '2026-11-24T00:00:00Z')).token;
      const manager = (await a.ctx.operatorTokens.create('release-manager', 'rm', '2026-11-24T00:00:00Z')).token;
      const token = await enroll(a.app, enroller, 'd1');
      // Node b reads the device once: from now on it answers this token from its cache.
      expect((await poll(b.app, 'd1', token)).status).toBe(200);
      expect(b.ctx.devices.peek('d1')).toBeDefined();
      expect((await request(a.app).delete('/v1/devices/d1').set(bearer(manager))).status).toBe(204);
      expect((await poll(a.app, 'd1', token)).status).toBe(401);
      // The change feed carries it (generous bound: this asserts that it happens, not how fast).
      await waitFor(async () => ((await poll(b.app, 'd1', token)).status === 401 ? true : undefined), 15_000, () => 'node b still accepts the decommissioned token');
    } finally {
      await a.ctx.stop();
      await b.ctx.stop();
      await a.sql.close();
      await b.sql.close();
      await db.drop();
    }
  });
});
