import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createWebhookNotifier, type RolloutNotification } from '../../server/notifications/webhook-notifier.js';
import { createWebhookOutboxStore } from '../../server/notifications/webhook-outbox-store.js';
import { startServer, type Running } from '../../server/serve.js';
import { makeApp, makeTrust, releaseBody, signWith, tempDir, testDatabaseConfig } from '../helpers/fixtures.js';
import { act, createRollout, publish } from '../helpers/fleet.js';
import { waitFor } from '../helpers/server-process.js';

/**
 * Issue 18: rollout webhooks go through an outbox written in the change's
 * own transaction — delivered after a restart, never for a change rolled
 * back, given up after a bounded time. SQLite, or PostgreSQL with
 * OTA_TEST_ENGINE=postgres (the two-node case is test/cluster/webhook-leader.test.ts).
 */

const RELEASE_ID = 'redmi-1s-cloud-optin-2014-08';
const POLICY = { maxFailureBasisPoints: 4000, minTerminalReports: 2, reportTimeoutSeconds: 3600 };
const ACTOR = 'operator:test-release-manager(release-manager)';

interface Received {
  headers: IncomingHttpHeaders;
  json: RolloutNotification;
}

const servers: Server[] = [];
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/**
 * A receiver on 127.0.0.1 answering 200; one made `down` answers 503 to everything until `up()`.
 * A receiver that is down keeps its port: a port closed and listened on again later could be taken
 * in between by any other test's server (EADDRINUSE, seen in CI).
 */
async function receiver(opts: { down?: boolean } = {}) {
  const got: Received[] = [];
  let down = opts.down ?? false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (down) {
        res.writeHead(503).end();
        return;
      }
      got.push({ headers: req.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RolloutNotification });
      res.writeHead(200).end();
    });
  }).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, got, up: () => void (down = false) };
}

const soon = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> => waitFor(probe, 15_000, () => what);

describe('the webhook outbox (issue 18)', () => {
  it('delivers a change queued while the receiver was down after the server restarts on the same data', { timeout: 60_000 }, async () => {
    const hook = await receiver({ down: true });
    const trust = makeTrust();
    const config = loadConfig({}, {
      dataDir: tempDir('ota-outbox-'), trustDir: trust.dir, port: 0, logLevel: 'silent', demo: false,
      webhookUrls: [`http://127.0.0.1:${hook.port}/hooks/ota`], webhookRetryBaseMs: 50, webhookMaxAttempts: 100,
      ...(await testDatabaseConfig()),
    });
    const first = await startServer(config, () => undefined);
    running.push(first);
    await first.ctx.publish(signWith(releaseBody(), trust.releaseKeys), ACTOR);
    const rollout = await first.ctx.rolloutService.create({ releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY }, ACTOR);
    // Tried and refused (the receiver answers 503): the delivery waits in the outbox, its failure noted.
    const tried = await soon('a failed attempt', async () =>
      first.ctx.sql.one<{ attempts: number; error: string }>('SELECT attempts, last_error AS "error" FROM webhook_outbox WHERE last_error IS NOT NULL'));
    expect(tried.attempts).toBeGreaterThanOrEqual(1);
    await first.close();

    hook.up();
    const second = await startServer(config, () => undefined);
    running.push(second);
    const got = await soon('the delivery after the restart', () => hook.got[0]);
    expect(got.json).toMatchObject({ type: 'rollout.transition', action: 'create', rollout: { id: rollout.id, releaseId: RELEASE_ID }, from: null });
    expect(got.headers['x-ota-delivery']).toBe(got.json.id);
    // Delivered rows leave the outbox.
    await soon('the outbox emptied', async () => ((await second.ctx.webhooks.pending())[0] === 0 ? true : undefined));
  });

  it('writes nothing for a change whose transaction rolls back', async () => {
    const hook = await receiver();
    const f = await makeApp({ config: { webhookUrls: [`http://127.0.0.1:${hook.port}/hooks/ota`] } });
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY });
    // The start commits inside a caller's transaction that then fails: both are undone together.
    await expect(f.ctx.sql.transaction(async () => {
      await f.ctx.rolloutService.act(id, 'start', ACTOR);
      throw new Error('the caller failed after the start');
    })).rejects.toThrow('the caller failed');
    const bodies = await f.ctx.sql.all<{ body: string }>('SELECT body FROM webhook_outbox');
    expect(bodies.filter((b) => b.body.includes('"action":"start"'))).toEqual([]);
    // A later start commits; deliveries to one receiver keep their order, so a rolled-back start would have come first.
    expect((await act(f, id, 'start')).status).toBe(200);
    await soon('the committed start', () => hook.got.find((g) => g.json.action === 'start'));
    expect(hook.got.map((g) => g.json.action)).toEqual(['create', 'start']);
    expect(hook.got[1]?.json.from).toEqual({ state: 'draft', stage: 0 });
  });

  it('commits a change and its outbox row together: a change whose row cannot be written is refused whole', async () => {
    const hook = await receiver();
    const f = await makeApp({ config: { webhookUrls: [`http://127.0.0.1:${hook.port}/hooks/ota`] } });
    await publish(f);
    const { id } = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY });
    await soon('the create', () => hook.got[0]);
    // The outbox away: the start's own transaction fails with it, so the rollout stays a draft.
    await f.ctx.sql.exec('ALTER TABLE webhook_outbox RENAME TO webhook_outbox_away');
    await expect(f.ctx.rolloutService.act(id, 'start', ACTOR)).rejects.toThrow();
    expect((await f.ctx.rollouts.get(id))?.state).toBe('draft');
    await f.ctx.sql.exec('ALTER TABLE webhook_outbox_away RENAME TO webhook_outbox');
    expect((await act(f, id, 'start')).status).toBe(200);
    await soon('the start', () => hook.got.find((g) => g.json.action === 'start'));
    expect(hook.got.map((g) => g.json.action)).toEqual(['create', 'start']);
  });

  it('gives a delivery up once it is older than the age bound, logged and counted once, and deletes it', async () => {
    const hook = await receiver();
    const f = await makeApp();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => void (lines.push(c.toString()), done()) }));
    const counted: string[] = [];
    const clock = { now: Date.now() };
    const n = createWebhookNotifier({
      urls: [`http://127.0.0.1:${hook.port}/hooks/ota`], secret: undefined, timeoutSeconds: 5, retryBaseMs: 20, maxAttempts: 3, maxAgeMs: 60_000, logger,
      store: createWebhookOutboxStore(f.ctx.sql), counted: (outcome) => void counted.push(outcome), clock: () => clock.now,
    });
    const t = (rolloutId: string) => ({ rolloutId, releaseId: 'rel', action: 'start', actor: ACTOR, from: null, to: { state: 'running' as const, stage: 0 }, at: '2026-12-01T00:00:00Z', details: {} });
    await n.record(t('stale'));
    clock.now += 60_001;
    await n.record(t('fresh'));
    n.wake();
    // Counted once the receiver's answer is read, just after it has the body.
    await soon('the fresh change delivered', () => (counted.length === 2 ? true : undefined));
    expect(hook.got.map((g) => g.json.rollout.id)).toEqual(['fresh']);
    expect(counted).toEqual(['given_up', 'delivered']);
    const given = lines.map((l) => JSON.parse(l) as { msg: string; rollout: string }).filter((l) => l.msg === 'webhook delivery given up');
    expect(given.map((l) => l.rollout)).toEqual(['stale']);
    expect(await n.pending()).toEqual([0]);
    await n.close();
  });
});
