import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createContext, type AppContext } from './context.js';
import { applyConnectionLimits } from './http/server-limits.js';
import { createLoadGauge } from './ops/load-gauge.js';
import { connectDatabase } from './db/connect.js';
import { redactDatabaseUrl } from './db/database-url.js';
import { ensureDevTrust } from './trust/dev-trust.js';
import { loadTrustFolder, trustPaths, type TrustFolder } from './trust/trust-folder.js';
import { createAuditStore } from './audit/audit-store.js';
import { createTrustState } from './trust/trust-state.js';
import { toTimestamp } from './protocol/trust/time.js';
import type { OperatorRole } from './auth/principal.js';
import { DEMO_ROLLOUT_ID, demoCommands, prepareDemo } from './demo/demo-setup.js';
import { lockDataFolder, type DataLock } from './data-folder/data-lock.js';
import { bindingOf, checkTrustBinding, TrustMismatchError } from './data-folder/trust-binding.js';
import { createTrustBindingStore } from './data-folder/trust-binding-store.js';
import { createLeadership, type Leadership } from './cluster/leadership.js';
import type { Sql } from './db/sql.js';

export interface Running {
  ctx: AppContext;
  server: Server;
  url: string;
  /** Stops serving and closes the database; `reason` (a signal's name...) goes into the last log line. */
  close(reason?: string): Promise<void>;
}

const DEV_ROLES: OperatorRole[] = ['admin', 'release-manager', 'qa', 'viewer', 'enroller'];

/**
 * Dev setup only: one token per role, created once and kept in
 * data/dev-tokens.json (0600), since a token is shown only when created.
 */
async function ensureDevTokens(ctx: AppContext): Promise<{ path: string; tokens: Record<string, string> }> {
  const path = join(ctx.config.dataDir, 'dev-tokens.json');
  if (existsSync(path)) return { path, tokens: JSON.parse(readFileSync(path, 'utf8')) as Record<string, string> };
  const at = toTimestamp(ctx.now());
  const tokens: Record<string, string> = {};
  for (const role of DEV_ROLES) tokens[role] = (await ctx.operatorTokens.create(role, `dev-${role}`, at)).token;
  writeFileSync(path, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return { path, tokens };
}

/**
 * The periodic work of a running server. Every node writes behind what it
 * observed (poll activity every 100 ms, token last-used times) and keeps its
 * own eligibility census; the singleton jobs — health rules (timeouts,
 * auto-halt, auto-advance), statement re-signing, pruning the change feed
 * and delivering webhooks — run on the leader only (protocol §9: once, never twice). A failing
 * pass is logged and retried next time, never fatal.
 */
function startBackgroundWork(ctx: AppContext, leadership: Leadership): NodeJS.Timeout[] {
  const every = (ms: number, name: string, fn: () => unknown): NodeJS.Timeout =>
    setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => void (ctx.outage.failed(err, 'job') || ctx.logger.error({ err }, `${name} failed`)));
    }, ms).unref();
  void ctx.census.run().catch((err: unknown) => void (ctx.outage.failed(err, 'job') || ctx.logger.error({ err }, 'census failed')));
  return [
    // Short, frequent flushes keep each write-behind transaction (and its pause) small.
    every(100, 'activity flush', () => ctx.activity.flush()),
    every(ctx.config.healthIntervalSeconds * 1000, 'health pass', () => leadership.runIfLeader(() => ctx.health.tick())),
    every(ctx.config.censusIntervalSeconds * 1000, 'census', () => ctx.census.run()),
    every(5000, 'token last-used', () => ctx.tokenUsage.flush()),
    every(60_000, 'change feed pruning', () => leadership.runIfLeader(() => ctx.changes.prune(CHANGES_KEPT_MINUTES))),
    // The outbox's deliveries committed on other nodes, left by a stopped server or a former leader (issue 18).
    // wake() asks the leadership itself, without a round trip on the leader's session each second: a node that
    // has just lost its lock without knowing may deliver once more, which at-least-once allows.
    every(WEBHOOK_SWEEP_MS, 'webhook delivery', () => ctx.webhooks.wake()),
  ];
}

/** How often the leader looks for webhook deliveries it was not woken for (its own commits wake it at once). */
const WEBHOOK_SWEEP_MS = 1000;

/** How long the change feed keeps a change: far beyond the 1 s catch-up read of any live node. */
const CHANGES_KEPT_MINUTES = 60;

/**
 * A data folder remembers the trust root it was made under and refuses
 * another unless config.switchTrust (recorded in the audit log).
 */
async function bindTrust(sql: Sql, folder: TrustFolder, config: Readonly<Config>, trustDir: string, out: (line: string) => void): Promise<void> {
  const at = toTimestamp(new Date());
  const result = await checkTrustBinding(createTrustBindingStore(sql), folder.roots, { switchTrust: config.switchTrust, trustDir, dataDir: config.dataDir, at });
  if (result.outcome !== 'switched') return;
  await createAuditStore(sql).append({ actor: 'system:start', action: 'trust.switch', subject: trustDir, details: { from: result.previous, to: bindingOf(folder.roots) } }, at);
  out(`trust switched: data folder ${config.dataDir} is now bound to the root in ${trustDir}`);
}

/**
 * Without --trust a dev trust folder is made, but only for a data folder that is new or already
 * has one. A database without it was made under a trust folder given with --trust: say that
 * before anything is written into the folder (a dev root and keys the binding check would then
 * refuse, left behind). --switch-trust makes a dev trust folder anyway, on purpose.
 */
function refuseDevTrustForUsedFolder(config: Readonly<Config>): void {
  if (config.trustDir !== undefined || config.databaseUrl !== undefined || config.switchTrust) return;
  if (existsSync(trustPaths(join(config.dataDir, 'trust')).root) || !existsSync(join(config.dataDir, 'ota.db'))) return;
  throw new TrustMismatchError(
    `data folder ${config.dataDir} has a database but no dev trust folder: it was started with --trust (OTA_TRUST_DIR) before, ` +
      'or its trust/ and dev-keys/ were lost (restore them with the database). Pass the trust folder it was created under; ' +
      'a dev trust folder is made only for a new data folder (or with --switch-trust, OTA_SWITCH_TRUST=1).',
  );
}

/**
 * The composition root: config → data folder (locked) → trust → database →
 * app → listen. The human banner goes to `out`, stderr by default: stdout
 * carries only the JSON log lines, so `npm start | jq` works.
 */
export async function startServer(config: Readonly<Config>, out: (line: string) => void = console.error): Promise<Running> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // An existing folder keeps the mode it was made with: the state and its secrets are the server's alone.
  chmodSync(config.dataDir, 0o700);
  // One writer per SQLite file: a second server is refused before it touches anything. With
  // PostgreSQL the folder holds only keys, trust and artifacts, which nodes share (protocol §9).
  const lock = config.databaseUrl === undefined ? lockDataFolder(config.dataDir) : undefined;
  try {
    return await startLocked(config, out, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}

async function startLocked(config: Readonly<Config>, out: (line: string) => void, lock: DataLock | undefined): Promise<Running> {
  refuseDevTrustForUsedFolder(config);
  const dev = config.trustDir === undefined ? ensureDevTrust(config.dataDir) : undefined;
  const trustDir = config.trustDir ?? (dev as { trustDir: string }).trustDir;
  const folder = loadTrustFolder(trustDir);
  const trust = createTrustState(folder);
  const logger = pino({ level: config.logLevel });
  // protocol §9: PostgreSQL with OTA_DATABASE_URL (connected and migrated), else the data folder's SQLite file.
  const sql = await connectDatabase({
    url: config.databaseUrl,
    file: join(config.dataDir, 'ota.db'),
    poolSize: config.databasePoolSize,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    onConnectionError: (err) => logger.warn({ err }, 'a database connection was lost; calls on it fail and the pool reconnects'),
  });
  const load = createLoadGauge();
  let ctx: AppContext;
  // Made before the context, which asks it who delivers webhooks; it takes part once the server listens.
  const leadership = createLeadership({
    sql,
    databaseUrl: config.databaseUrl,
    intervalMs: config.healthIntervalSeconds * 1000,
    name: `${process.pid}`,
    onChange: (leader) => ctx.logger.info({ leader }, leader ? 'this node now runs the singleton jobs (leader)' : 'this node no longer leads'),
    onError: (err) => void (ctx.outage.failed(err, 'job') || ctx.logger.warn({ err }, 'leader election: session failed; retrying')),
  });
  try {
    await sql.transaction(() => bindTrust(sql, folder, config, trustDir, out));
    ctx = await createContext({ config, sql, trust, logger, loadFactor: load.factor, leadership });
  } catch (e) {
    load.stop();
    await sql.close();
    throw e;
  }
  const app = createApp(ctx);

  const server = await new Promise<Server>((resolve, reject) => {
    // Node checks header and request timeouts on this interval (30 s by default, which would let a
    // slow client hold a socket ~30 s past OTA_HEADERS_TIMEOUT_SECONDS).
    // requireHostHeader: false: Node would answer a missing Host with an empty 400; the app answers it
    // with the §7 body instead (http/server-limits.ts refuseMissingHost).
    const s = createServer({ connectionsCheckingInterval: 1000, requireHostHeader: false }, app);
    applyConnectionLimits(s, config, ctx.logger, ctx.metrics);
    s.once('error', reject);
    s.listen(config.port, config.host, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  // The database URL may hold a password: only its redacted form is ever logged or shown.
  const database = config.databaseUrl === undefined ? join(config.dataDir, 'ota.db') : redactDatabaseUrl(config.databaseUrl);
  ctx.logger.info({ url, dataDir: config.dataDir, trustDir, database }, 'server listening');
  out(`OTA server listening on ${url} (data: ${config.dataDir}, trust: ${trustDir}, database: ${database})`);
  if (dev) {
    const tokens = await ensureDevTokens(ctx);
    out(`dev trust folder${dev.created ? ' created' : ''}: ${dev.trustDir}; offline dev keys: ${dev.keysDir}`);
    out(`dev operator tokens (one per role): ${tokens.path}`);
    if (config.demo) {
      const demo = await prepareDemo(ctx, dev.keysDir);
      if (demo) out(`demo: example opt-in release published; rollout ${demo.rolloutId} running (qa → all 10% → all 100%)`);
      const [enrollCmd, pollCmd] = demoCommands(url, tokens.path);
      out(`enroll the demo device:\n  ${enrollCmd}`);
      // Only while the demo rollout runs (protocol §5: paused serves no new offers, halted and cancelled
      // none); once it was cancelled or completed the demo is over and there is nothing to try.
      const state = (await ctx.rollouts.get(DEMO_ROLLOUT_ID))?.state;
      if (state === 'running') out(`poll for its update:\n  ${pollCmd}`);
      else out(`demo: rollout ${DEMO_ROLLOUT_ID} is ${state ?? 'gone'}: no demo poll command (it would offer nothing new)`);
    }
    out(`health: curl ${url}/healthz   trust root: curl ${url}/v1/trust/root`);
  }

  await leadership.start();
  const timers = startBackgroundWork(ctx, leadership);
  let closing: Promise<void> | undefined;
  const close = (reason = 'closed by its caller') =>
    (closing ??= (async () => {
      for (const t of timers) clearInterval(t);
      load.stop();
      // An attempt in flight is cut short; what is not delivered stays in the outbox for the next start.
      await ctx.webhooks.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await leadership.stop().catch((err: unknown) => ctx.logger.error({ err }, 'giving up leadership failed'));
      await ctx.stop().catch((err: unknown) => ctx.logger.error({ err }, 'stopping the change feed failed'));
      // The last write-behind before the database closes: a failure is logged, the close goes on.
      await ctx.activity.flushAll().catch((err: unknown) => ctx.logger.error({ err }, 'last activity flush failed'));
      await ctx.tokenUsage.flush().catch((err: unknown) => ctx.logger.error({ err }, 'last token last-used flush failed'));
      await sql.close();
      lock?.release();
      // The counterpart of 'server listening': when and why this process stopped serving.
      ctx.logger.info({ reason, url }, 'server stopped');
    })());
  return { ctx, server, url, close };
}
