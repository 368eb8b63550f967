import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { bearer, makeApp, makeTrust, tempDir } from '../helpers/fixtures.js';
import { createRollout, enroll, FAILURE_POLICY, poll, publish, report, act } from '../helpers/fleet.js';
import { releaseBody } from '../helpers/fixtures.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** An app whose pino logger writes JSON lines into an array. */
async function loggedApp(level: 'info' | 'debug' = 'info') {
  const lines: Line[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(chunk.toString());
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  const f = await makeApp({ logger: pino({ level }, sink) });
  return { f, lines, raw };
}

const INFO = 30;
const DEBUG = 20;

describe('log levels (issue 9: the log says what the fleet and operators do)', () => {
  it("a device's check for root N+1 (404) is debug, not info", async () => {
    const quiet = await loggedApp('info');
    expect((await request(quiet.f.app).get('/v1/trust/root/2')).status).toBe(404);
    expect(quiet.lines).toEqual([]);

    const verbose = await loggedApp('debug');
    expect((await request(verbose.f.app).get('/v1/trust/root/2')).status).toBe(404);
    expect(verbose.lines).toContainEqual(expect.objectContaining({ level: DEBUG, msg: 'request refused', path: '/v1/trust/root/2', status: 404 }));
    // Other refusals stay at info.
    expect((await request(verbose.f.app).get('/v1/releases')).status).toBe(401);
    expect(verbose.lines).toContainEqual(expect.objectContaining({ level: INFO, msg: 'request refused', path: '/v1/releases', status: 401 }));
  });

  it('an operator action that changes state is logged at info with who, what and the request id, never the token', async () => {
    const { f, lines, raw } = await loggedApp('info');
    const res = await request(f.app).post('/v1/cohorts').set(bearer(f.tokens['release-manager'])).send({ name: 'qa', members: ['dev-1'] });
    expect(res.status).toBe(201);
    const requestId = res.headers['x-request-id'] as string;
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    const who = (await f.ctx.operatorTokens.authenticate(f.tokens['release-manager']));
    const tokenId = who?.kind === 'operator' ? who.tokenId : -1;
    expect(tokenId).toBeGreaterThan(0);
    expect(lines).toContainEqual(expect.objectContaining({
      level: INFO,
      msg: 'operator action',
      requestId,
      actor: { tokenId, name: 'test-release-manager', role: 'release-manager' },
      action: 'POST /v1/cohorts',
      path: '/v1/cohorts',
      status: 201,
    }));

    // A caller's own plain X-Request-Id is kept; publishing is logged the same way.
    await publish(f);
    const members = await request(f.app).put('/v1/cohorts/qa/members').set(bearer(f.tokens.admin)).set('X-Request-Id', 'ci-run-42').send({ members: ['dev-2'] });
    expect(members.status).toBe(200);
    expect(members.headers['x-request-id']).toBe('ci-run-42');
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'operator action', requestId: 'ci-run-42', action: 'PUT /v1/cohorts/:name/members', actor: expect.objectContaining({ role: 'admin' }) }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'operator action', action: 'POST /v1/releases', status: 201 }));
    // A request id that could forge log fields is replaced.
    const forged = await request(f.app).get('/v1/cohorts').set(bearer(f.tokens.viewer)).set('X-Request-Id', 'x"} {"evil":1');
    expect(forged.headers['x-request-id']).not.toContain('evil');

    // Reads are not operator actions; no secret ever reaches the log.
    expect(lines.filter((l) => l.msg === 'operator action' && String(l.action).startsWith('GET'))).toEqual([]);
    for (const token of Object.values(f.tokens)) expect(raw.join('')).not.toContain(token);
  });

  it('a refused operator action names the token and the request id at info', async () => {
    const { f, lines } = await loggedApp('info');
    const res = await request(f.app).post('/v1/rollouts/nope/halt').set(bearer(f.tokens.qa));
    expect(res.status).toBe(404);
    expect(lines).toContainEqual(expect.objectContaining({ level: INFO, msg: 'request refused', requestId: res.headers['x-request-id'], actor: expect.objectContaining({ role: 'qa' }), status: 404 }));
  });
});

describe('startup banner', () => {
  const spies: { mockRestore(): void }[] = [];
  afterEach(() => {
    for (const s of spies.splice(0)) s.mockRestore();
  });

  it('goes to stderr, so stdout carries only JSON log lines (`npm start | jq`)', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const write = vi.spyOn(process.stdout, 'write');
    spies.push(err, log, write);
    const running = await startServer(loadConfig({}, { dataDir: tempDir(), trustDir: makeTrust().dir, port: 0, logLevel: 'silent', demo: false }));
    try {
      expect(err).toHaveBeenCalledWith(expect.stringMatching(/^OTA server listening on http:\/\/127\.0\.0\.1:\d+ /));
      expect(log).not.toHaveBeenCalled();
      expect(write).not.toHaveBeenCalled();
    } finally {
      await running.close();
    }
  });
});

describe('a database outage is two log lines and a counter (issue 20 defect 4)', () => {
  it('while every statement fails as a stopped PostgreSQL does: one warn when it goes, one when it is back, no error lines, 503s counted', async () => {
    const { f, lines } = await loggedApp('info');
    await publish(f);
    const r = await createRollout(f, { releaseId: releaseBody().id, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const token = await enroll(f.app, f.tokens.enroller, 'dev-1');
    expect((await poll(f.app, 'dev-1', token)).status).toBe(200);
    await f.ctx.activity.flushAll();
    lines.length = 0;

    // PostgreSQL's answer to every statement while it shuts down (SQLSTATE 57P01), on either engine's Sql.
    const sql = f.ctx.sql as unknown as Record<string, unknown>;
    const saved = new Map(['all', 'one', 'value', 'run', 'transaction'].map((m) => [m, sql[m]]));
    const away = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    for (const m of saved.keys()) sql[m] = () => Promise.reject(Object.assign(new Error(away.message), { code: away.code }));
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await request(f.app).get('/v1/rollouts').set(bearer(f.tokens.viewer))).status);
      statuses.push((await report(f.app, 'dev-1', token, { seq: i + 1, releaseId: releaseBody().id, rolloutId: r.id, state: 'received', at: toTimestamp(f.clock.now) })).status);
      statuses.push((await request(f.app).get('/healthz')).status);
    }
    expect(new Set(statuses)).toEqual(new Set([503]));
    const counted = (await f.ctx.metrics.databaseUnavailable.get()).values.find((v) => v.labels.what === 'request')?.value;
    expect(counted).toBeGreaterThanOrEqual(40);

    for (const [m, fn] of saved) sql[m] = fn;
    await vi.waitFor(() => expect(lines.some((l) => l.msg === 'database is back')).toBe(true), { timeout: 10_000, interval: 50 });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const database = lines.filter((l) => /database/.test(l.msg));
    expect(database.map((l) => [l.level, l.msg])).toEqual([
      [40, 'database unavailable: what needs it is answered 503 (or retried) until it is back'],
      [40, 'database is back'],
    ]);
    expect(database[0]).toMatchObject({ cause: { code: '57P01' } });
    expect(JSON.stringify(database)).not.toMatch(/\bat [\w.<>]+ \(/);
    expect(database[1]?.refusedRequests).toBeGreaterThanOrEqual(40);
    expect((await request(f.app).get('/v1/rollouts').set(bearer(f.tokens.viewer))).status).toBe(200);
  });
});
