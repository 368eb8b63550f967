import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../server/config.js';
import { createWebhookNotifier, type RolloutNotification } from '../../server/notifications/webhook-notifier.js';
import { createWebhookOutboxStore } from '../../server/notifications/webhook-outbox-store.js';
import { verifySignature } from '../../server/notifications/webhook-signature.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { ota } from '../cli/cli-harness.js';
import { makeApp, tempDir, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, poll, publish, report } from '../helpers/fleet.js';
import { waitFor } from '../helpers/server-process.js';

const SECRET = 'a-webhook-secret-of-some-length';
const RELEASE_ID = 'redmi-1s-cloud-optin-2014-08';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: RolloutNotification;
}

const servers: Server[] = [];
const fixtures: AppFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.ctx.webhooks.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A receiver on 127.0.0.1 answering the given statuses in turn (then 200); 0 = never answer. */
async function receiver(statuses: number[] = []) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      got.push({ headers: req.headers, body, json: JSON.parse(body) as RolloutNotification });
      const status = statuses.shift() ?? 200;
      if (status === 0) return;
      res.writeHead(status).end();
    });
  }).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ota`, got };
}

async function until<T>(what: string, fn: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function app(config: Partial<Config>, logLines?: string[]) {
  const logger = logLines
    ? pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, done) => void (logLines.push(c.toString()), done()) }))
    : undefined;
  const f = await makeApp({ config: { webhookSecret: SECRET, webhookRetryBaseMs: 20, ...config }, ...(logger ? { logger } : {}) });
  fixtures.push(f);
  return f;
}

const POLICY = { maxFailureBasisPoints: 4000, minTerminalReports: 2, reportTimeoutSeconds: 3600 };

describe('webhooks: every rollout state change, signed, retried, off the request path', () => {
  it('operator actions arrive in order, HMAC-signed over timestamp and body, and a 500 is retried', async () => {
    const hook = await receiver([500]);
    const f = await app({ webhookUrls: [hook.url] });
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY });
    expect((await act(f, id, 'start')).status).toBe(200);
    expect((await act(f, id, 'halt', f.tokens.qa)).status).toBe(200);
    // create (500, then retried), start, halt
    await until('four requests', () => hook.got.length >= 4);
    const [first, retry, start, halt] = hook.got as [Received, Received, Received, Received];
    expect(retry.headers['x-ota-delivery']).toBe(first.headers['x-ota-delivery']);
    expect(retry.body).toBe(first.body);
    expect(first.json).toMatchObject({ type: 'rollout.transition', action: 'create', rollout: { id, releaseId: RELEASE_ID }, from: null, to: { state: 'draft', stage: 0 } });
    expect(start.json).toMatchObject({ action: 'start', from: { state: 'draft', stage: 0 }, to: { state: 'running', stage: 0 }, actor: 'operator:test-release-manager(release-manager)', reason: null });
    expect(halt.json).toMatchObject({ action: 'halt', from: { state: 'running', stage: 0 }, to: { state: 'halted', stage: 0 }, actor: 'operator:test-qa(qa)' });
    expect(new Set(hook.got.map((g) => g.json.id)).size).toBe(3);
    const now = Math.floor(Date.now() / 1000);
    for (const g of hook.got) {
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['x-ota-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      const headers = { signature: g.headers['x-ota-signature'] as string, timestamp: g.headers['x-ota-timestamp'] as string };
      expect(verifySignature(SECRET, headers, g.body, now)).toBe(true);
      // Another secret, a changed body or a replay outside the window are refused.
      expect(verifySignature('another-secret-of-some-length', headers, g.body, now)).toBe(false);
      expect(verifySignature(SECRET, headers, g.body.replace(`"${g.json.action}"`, '"cancel"'), now)).toBe(false);
      expect(verifySignature(SECRET, headers, g.body, now + 3600)).toBe(false);
    }
  });

  it('an auto-halt says why, with the figures; auto-advance and completion are announced too', async () => {
    const hook = await receiver();
    const f = await app({ webhookUrls: [hook.url] });
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: POLICY });
    expect((await act(f, id, 'start')).status).toBe(200);
    const tokens = [await enroll(f.app, f.tokens.enroller, 'dev-a'), await enroll(f.app, f.tokens.enroller, 'dev-b')];
    for (const [i, d] of ['dev-a', 'dev-b'].entries()) expect((await poll(f.app, d, tokens[i] as string)).status).toBe(200);
    const body = (seq: number, state: string) => ({ seq, releaseId: RELEASE_ID, rolloutId: id, state, at: toTimestamp(f.clock.now) });
    expect((await report(f.app, 'dev-a', tokens[0] as string, body(1, 'applied'))).status).toBe(200);
    expect((await report(f.app, 'dev-b', tokens[1] as string, body(1, 'failed'))).status).toBe(200);
    const halt = await until('the auto-halt', () => hook.got.find((g) => g.json.action === 'halt'));
    expect(halt.json).toMatchObject({
      rollout: { id },
      actor: 'system:auto-halt',
      from: { state: 'running', stage: 0 },
      to: { state: 'halted', stage: 0 },
      reason: 'failure rate 50.00% above the 40.00% threshold after 2 terminal reports',
      details: { figures: { terminal: 2, failures: 1, rateBasisPoints: 5000 }, failurePolicy: POLICY },
    });

    const staged = await createRollout(f, {
      id: 'staged', releaseId: RELEASE_ID,
      stages: [{ cohort: 'all', basisPoints: 100, minDwellSeconds: 60, autoAdvance: true }, { cohort: 'all', basisPoints: 10000, minDwellSeconds: 60, autoAdvance: true }],
      failurePolicy: { ...POLICY, minTerminalReports: 1000 },
    });
    expect((await act(f, id, 'cancel')).status).toBe(200);
    expect((await act(f, staged.id, 'start')).status).toBe(200);
    f.clock.now = new Date(f.clock.now.getTime() + 61_000);
    await f.ctx.health.tick();
    f.clock.now = new Date(f.clock.now.getTime() + 61_000);
    await f.ctx.health.tick();
    const advances = await until('two advances', () => {
      const a = hook.got.filter((g) => g.json.rollout.id === 'staged' && g.json.action === 'advance');
      return a.length === 2 ? a : undefined;
    });
    expect(advances.map((a) => [a.json.actor, a.json.from, a.json.to])).toEqual([
      ['system:auto-advance', { state: 'running', stage: 0 }, { state: 'running', stage: 1 }],
      ['system:auto-advance', { state: 'running', stage: 1 }, { state: 'completed', stage: 1 }],
    ]);
    expect(advances[0]?.json.details).toEqual({ dweltSeconds: 61, minDwellSeconds: 60 });
  });

  it('never blocks the request path: a receiver that does not answer delays nothing; several receivers each get every change', async () => {
    const silent = await receiver([0, 0, 0]);
    const other = await receiver();
    const f = await app({ webhookUrls: [silent.url, other.url], webhookTimeoutSeconds: 30 });
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY });
    expect((await act(f, id, 'start')).status).toBe(200);
    // Both answered while the silent receiver still holds the first delivery (it never answers; 30 s timeout).
    expect((await f.ctx.webhooks.pending())[0]).toBeGreaterThanOrEqual(1);
    await until('both changes at the answering receiver', () => other.got.length >= 2);
    expect(other.got.map((g) => g.json.action)).toEqual(['create', 'start']);
    // The silent one holds its first delivery; the second waits behind it, in order.
    await until('the silent receiver saw the first', () => silent.got.length === 1);
    // The answering receiver's second delivery counts as pending until its answer is read.
    await waitFor(async () => ((await f.ctx.webhooks.pending())[1] === 0 ? true : undefined), 5000, () => 'the answering receiver acknowledged both');
    expect(await f.ctx.webhooks.pending()).toEqual([2, 0]);
  });

  it('a refusal that will not change (4xx) is not retried; failures are logged without the secret or the URL path', async () => {
    const hook = await receiver([400, 503, 503]);
    const lines: string[] = [];
    const f = await app({ webhookUrls: [hook.url], webhookMaxAttempts: 2 }, lines);
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY });
    await until('the create refused', () => hook.got.length >= 1);
    expect((await act(f, id, 'start')).status).toBe(200);
    // create: 400, given up at once; start: 503, retried once, given up after 2 attempts.
    await until('two attempts at the start', () => lines.filter((l) => l.includes('webhook delivery given up')).length >= 2);
    expect(hook.got.map((g) => g.json.action)).toEqual(['create', 'start', 'start']);
    const log = lines.join('');
    expect(log).toContain('webhook delivery failed; retrying');
    expect(log).toContain('HTTP 503');
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain('/hooks/ota');
  });
});

describe('the webhook queue', () => {
  it('is bounded: past maxQueue the oldest deliveries not yet tried are dropped and logged; close stops it', async () => {
    const silent = await receiver([0, 0, 0, 0]);
    const f = await makeApp();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => void (lines.push(c.toString()), done()) }));
    const counted: string[] = [];
    const n = createWebhookNotifier({
      urls: [silent.url], secret: undefined, timeoutSeconds: 30, retryBaseMs: 20, maxAttempts: 3, maxQueue: 2, logger,
      store: createWebhookOutboxStore(f.ctx.sql), counted: (outcome) => void counted.push(outcome),
    });
    const t = (i: number) => ({ rolloutId: `r${i}`, releaseId: 'rel', action: 'start', actor: 'operator:x(admin)', from: null, to: { state: 'running' as const, stage: 0 }, at: '2026-12-01T00:00:00Z', details: {} });
    for (let i = 1; i <= 4; i++) await n.record(t(i));
    n.wake();
    await until('the first delivery in flight', () => silent.got.length === 1);
    expect(silent.got[0]?.json.rollout.id).toBe('r3');
    expect(silent.got[0]?.headers['x-ota-signature']).toBeUndefined();
    // r1 and r2 were dropped, each logged and counted; r3 is in flight, r4 waits behind it.
    expect(await n.pending()).toEqual([2]);
    const dropped = lines.map((l) => JSON.parse(l) as { msg: string; rollout: string }).filter((l) => l.msg.startsWith('webhook queue full'));
    expect(dropped.map((l) => l.rollout)).toEqual(['r1', 'r2']);
    expect(counted).toEqual(['dropped', 'dropped']);
    await n.close();
    // Closed: a change is still recorded (it is the transaction's), never sent by this notifier.
    await n.record(t(5));
    n.wake();
    expect(await n.pending()).toEqual([3]);
    expect(silent.got).toHaveLength(1);
  });
});

describe('webhook configuration (validated at load)', () => {
  it('takes several URLs, comma- or space-separated', () => {
    const c = loadConfig({ OTA_WEBHOOK_URL: 'https://a.example/h, http://127.0.0.1:9000/x  https://b.example/y', OTA_WEBHOOK_SECRET: SECRET });
    expect(c.webhookUrls).toEqual(['https://a.example/h', 'http://127.0.0.1:9000/x', 'https://b.example/y']);
    expect(c.webhookSecret).toBe(SECRET);
    expect(loadConfig({}).webhookUrls).toEqual([]);
  });

  it('refuses bad values with every problem listed, never echoing a URL', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
      }
      return [];
    };
    expect(problems({ OTA_WEBHOOK_URL: 'ftp://x.example/secret-path,not-a-url', OTA_WEBHOOK_SECRET: 'short' })).toEqual([
      'OTA_WEBHOOK_URL entry 1 must be an http:// or https:// URL',
      'OTA_WEBHOOK_URL entry 2 must be an http:// or https:// URL',
      'OTA_WEBHOOK_SECRET must be at least 16 characters',
    ]);
    expect(problems({ OTA_WEBHOOK_SECRET: SECRET })).toEqual(['OTA_WEBHOOK_SECRET is set but OTA_WEBHOOK_URL is not']);
    expect(problems({ OTA_WEBHOOK_URL: 'https://a.example/h,https://a.example/h' })).toEqual(['OTA_WEBHOOK_URL names the same URL twice']);
    // A user and password in the URL: fetch would refuse every delivery (and its error would quote the URL).
    expect(problems({ OTA_WEBHOOK_URL: 'http://user:pw123@127.0.0.1:9/ok?k=secretq' })).toEqual([
      'OTA_WEBHOOK_URL entry 1 must not carry a user or password (sign deliveries with OTA_WEBHOOK_SECRET)',
    ]);
    expect(problems({ OTA_WEBHOOK_URL: 'https://a.example/h', OTA_WEBHOOK_RETRY_BASE_MS: '1' })).toEqual(['OTA_WEBHOOK_RETRY_BASE_MS must be an integer from 10 to 600000, got "1"']);
  });

  it('ota serve --webhook-url (repeatable) is checked like the variable', async () => {
    const r = await ota(['serve', '--data', tempDir(), '--webhook-url', 'https://a.example/h', '--webhook-url', 'gopher://b.example/secret-path']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ota: invalid configuration: OTA_WEBHOOK_URL entry 2 must be an http:// or https:// URL\n');
  });
});
