import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import type { RolloutNotification } from '../../server/notifications/webhook-notifier.js';
import { startServer, type Running } from '../../server/serve.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeTrust, releaseBody, signWith, tempDir } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/server-process.js';

/**
 * protocol §9 and issue 18: two nodes on one PostgreSQL database share one
 * webhook outbox, and only the leader delivers from it — a change committed
 * on the follower is delivered once, by the leader; after the leader stops
 * the other node takes over.
 */

const RELEASE_ID = 'redmi-1s-cloud-optin-2014-08';
const ACTOR = 'operator:test-release-manager(release-manager)';
const POLICY = { maxFailureBasisPoints: 4000, minTerminalReports: 2, reportTimeoutSeconds: 3600 };

const nodes: Running[] = [];
const databases: TestDatabase[] = [];
let hookServer: Server | undefined;
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const d of databases.splice(0)) await d.drop();
  hookServer?.closeAllConnections();
  await new Promise((resolve) => (hookServer ? hookServer.close(resolve) : resolve(undefined)));
  hookServer = undefined;
});

/** Deliveries this node made (ota_webhook_deliveries_total{outcome="delivered"}). */
async function delivered(node: Running): Promise<number> {
  const metric = await node.ctx.metrics.webhookDeliveries.get();
  return metric.values.find((v) => v.labels.outcome === 'delivered')?.value ?? 0;
}

describe('webhook delivery across two nodes on PostgreSQL', () => {
  it('only the leader delivers: a change committed on the follower is delivered once, by the leader; the other node takes over when it stops', { timeout: 60_000 }, async () => {
    const got: RolloutNotification[] = [];
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as RolloutNotification);
        res.writeHead(200).end();
      });
    }).listen(0, '127.0.0.1');
    await once(hookServer, 'listening');
    const url = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks/ota`;
    const db = await createTestDatabase('postgres', { poolSize: 2 });
    databases.push(db);
    const trust = makeTrust();
    const start = async (name: string): Promise<Running> => {
      const node = await startServer(loadConfig({}, {
        dataDir: tempDir(`ota-node-${name}-`), trustDir: trust.dir, port: 0, logLevel: 'silent', demo: false,
        databaseUrl: db.url, databasePoolSize: 4, healthIntervalSeconds: 1, webhookUrls: [url],
      }), () => undefined);
      nodes.push(node);
      return node;
    };
    // A starts first and takes the leader lock at its first try (cluster/leadership.ts); B follows.
    const a = await start('a');
    const b = await start('b');

    await b.ctx.publish(signWith(releaseBody(), trust.releaseKeys), ACTOR);
    const rollout = await b.ctx.rolloutService.create({ releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 1000 }], failurePolicy: POLICY }, ACTOR);
    await waitFor(async () => ((await delivered(a)) === 1 ? true : undefined), 15_000, () => 'the create, committed on B, delivered by A');
    expect(await delivered(b)).toBe(0);

    // The leader stops (giving its lock up): B leads within its next try and delivers what is committed from then on.
    await a.close();
    await b.ctx.rolloutService.act(rollout.id, 'start', ACTOR);
    await waitFor(async () => ((await delivered(b)) === 1 ? true : undefined), 15_000, () => 'the start, delivered by B after A stopped');
    expect(got.map((n) => [n.action, n.rollout.id])).toEqual([['create', rollout.id], ['start', rollout.id]]);
  });
});
