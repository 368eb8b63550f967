import type { RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Sql } from './db/sql.js';
import { createAuditStore, type AuditStore } from './audit/audit-store.js';
import { createArtifactStore, type ArtifactStore } from './artifacts/artifact-store.js';
import { createOperatorTokenStore, type OperatorTokenStore } from './auth/operator-token-store.js';
import { createTokenUsage, type TokenUsage } from './auth/token-usage.js';
import { createCohortStore, type CohortStore } from './cohorts/cohort-store.js';
import { createGroupCommit, type GroupCommit } from './db/group-commit.js';
import { createActivityBuffer, type ActivityBuffer } from './devices/activity-buffer.js';
import { createDeviceStore, type DeviceStore } from './devices/device-store.js';
import { createPollService, type PollService } from './devices/poll-service.js';
import { jsonBody } from './http/json-body.js';
import { registerFleetMetrics, type FleetMetrics } from './ops/fleet-metrics.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createWebhookNotifier, type WebhookNotifier } from './notifications/webhook-notifier.js';
import { createReleaseStore, type ReleaseStore } from './releases/release-store.js';
import { createIngestService, type IngestService } from './reports/ingest-service.js';
import type { DeviceState } from './reports/report-rules.js';
import { createReportStore, type ReportStore } from './reports/report-store.js';
import { createCensus, type Census } from './rollouts/census.js';
import { createHealthService, type HealthService } from './rollouts/health-service.js';
import { createLiveRollouts, type LiveRollouts } from './rollouts/live-rollouts.js';
import { createRolloutEvents, isAutomatic, type RolloutEvents } from './rollouts/rollout-events.js';
import { createCounterStore, type CounterStore } from './rollouts/rollout-counters.js';
import { createRolloutDeviceStore, type RolloutDeviceStore } from './rollouts/rollout-device-store.js';
import { createRolloutService, type RolloutService } from './rollouts/rollout-service.js';
import { createRolloutStore, type RolloutStore } from './rollouts/rollout-store.js';
import { createTimelineStore, type TimelineStore } from './rollouts/rollout-timeline.js';
import { logAtStartup } from './transparency/log-documents.js';
import { createLogStore } from './transparency/log-store.js';
import { createTransparencyLog, type TransparencyLog } from './transparency/transparency-log.js';
import { toTimestamp } from './trust/time.js';
import type { ChangeFeed } from './cluster/change-feed.js';
import { createNodeChangeFeed } from './cluster/node-change-feed.js';
import { ADVISORY_LOCK, holdUntilCommit } from './cluster/advisory-locks.js';
import type { TrustState } from './trust/trust-state.js';
import { createAdmissionService, type AdmissionService } from './devices/admission/admission-service.js';
import { createAdmissionStore } from './devices/admission/admission-store.js';
import { enroll } from './devices/enrollment-service.js';
import { setDeviceFacts } from './devices/device-facts.js';
import { createLinkSigner } from './mender/artifact-links.js';
import type { MenderDeps } from './mender/mender-deps.js';
import { createMenderArtifactStore, createMenderTokenStore, sharedSecret, type MenderArtifactStore } from './mender/mender-stores.js';
import type { Principal } from './auth/principal.js';

/** Everything a route or service may use, built once from config by the composition root (or a test). */
export interface AppContext {
  config: Readonly<Config>;
  /** The one database connection (pool) every store shares; close it last on shutdown. */
  sql: Sql;
  logger: Logger;
  now: () => Date;
  trust: TrustState;
  metrics: Metrics;
  /** Fleet figures for /metrics (rollouts, devices, group commit); see docs/operations.md. */
  fleetMetrics: FleetMetrics;
  /** Every committed rollout creation and transition (metrics, logs and webhooks listen). */
  rolloutEvents: RolloutEvents;
  /** OTA_WEBHOOK_URL receivers of every rollout transition (close it on shutdown). */
  webhooks: WebhookNotifier;
  audit: AuditStore;
  artifacts: ArtifactStore;
  operatorTokens: OperatorTokenStore;
  /** Last-used times of operator tokens, written behind (never on the request path). */
  tokenUsage: TokenUsage;
  releases: ReleaseStore;
  cohorts: CohortStore;
  devices: DeviceStore;
  rollouts: RolloutStore;
  rolloutDevices: RolloutDeviceStore;
  counters: CounterStore;
  timeline: TimelineStore;
  reports: ReportStore;
  activity: ActivityBuffer;
  live: LiveRollouts;
  rolloutService: RolloutService;
  health: HealthService;
  census: Census;
  /** protocol §8: the transparency log every signed document is appended to. */
  log: TransparencyLog;
  poll: PollService;
  ingest: IngestService;
  /** protocol §12 device admission: pending, accepted, rejected, preauthorized identities and keys. */
  admission: AdmissionService;
  /** The header of every uploaded `.mender` artifact (checked at publish, protocol §12). */
  menderHeaders: MenderArtifactStore;
  /** The Mender gateway's narrow view of the device core (server/mender). */
  mender: MenderDeps;
  commits: GroupCommit;
  jsonBody: RequestHandler;
  /**
   * protocol §9: what one node commits that others keep in memory (live
   * rollouts, cohorts, the log, the device cache) reaches every node.
   */
  changes: ChangeFeed;
  /** Stops following the change feed (shutdown; the database is closed by its owner). */
  stop(): Promise<void>;
}

export interface ContextInput {
  config: Readonly<Config>;
  sql: Sql;
  trust: TrustState;
  logger?: Logger;
  now?: () => Date;
  /** Multiplier for pollAfterSeconds under load (serve.ts wires an event-loop gauge). */
  loadFactor?: () => number;
}

/**
 * Builds every store, service and in-memory view, and fills the views from
 * the store (cohorts, transparency log, live rollouts) before it resolves.
 */
export async function createContext(input: ContextInput): Promise<AppContext> {
  const { config, sql, trust } = input;
  const logger = input.logger ?? pino({ level: config.logLevel });
  const now = input.now ?? (() => new Date());
  const audit = createAuditStore(sql);
  const releases = createReleaseStore(sql);
  const cohorts = createCohortStore(sql);
  const devices = createDeviceStore(sql, { cacheEntries: config.deviceCacheEntries });
  const rollouts = createRolloutStore(sql);
  const rolloutDevices = createRolloutDeviceStore(sql);
  const counters = createCounterStore(sql);
  const timeline = createTimelineStore(sql);
  const reports = createReportStore(sql);
  const operatorTokens = createOperatorTokenStore(sql);
  const activity = createActivityBuffer(sql, devices, rolloutDevices, counters);
  const log = createTransparencyLog({ store: createLogStore(sql), trust, origin: config.logOrigin, witnesses: config.logWitnesses });
  // Created outside any transaction (SQLite's feed keeps its pending changes on the connection).
  const changes = createNodeChangeFeed({ sql, databaseUrl: config.databaseUrl, onError: (err) => logger.error({ err }, 'change feed failed') });
  const live = createLiveRollouts(rollouts, releases, log);
  // protocol §12: a device's earlier Mender tokens stay valid 10 minutes after a new one is issued.
  const menderTokens = createMenderTokenStore(sql, { graceMs: 10 * 60 * 1000, maxCached: Math.max(1000, config.deviceCacheEntries) });
  const menderHeaders = createMenderArtifactStore(sql);
  // Each view follows the feed from before it is first loaded, so nothing committed in between is
  // missed; a view re-reads what changed from the store (never stale, never partial).
  changes.subscribe(async (c) => {
    if (c.topic === 'rollout' || c.topic === 'log') await live.refresh();
    else if (c.topic === 'cohort') await cohorts.refresh();
    else if (c.topic === 'device' && c.key !== null) {
      devices.forget(c.key);
      menderTokens.forget(c.key);
    }
  });
  await changes.start();
  await logAtStartup(trust.current(), toTimestamp(now()), { sql, log, releases, rollouts, changes });
  await cohorts.refresh();
  await live.refresh();
  const metrics = createMetrics();
  const rolloutEvents = createRolloutEvents(logger);
  // Operators' actions are logged with their request (http/request-observer.ts); the server's own
  // advances and completions here (health-service.ts already warns of an auto-halt, with its figures).
  rolloutEvents.on((t) => {
    if (isAutomatic(t) && t.to.state !== 'halted') logger.info({ rollout: t.rolloutId, action: t.action, actor: t.actor, from: t.from, to: t.to }, 'rollout changed by the server');
  });
  const webhooks = createWebhookNotifier({
    urls: config.webhookUrls, secret: config.webhookSecret, timeoutSeconds: config.webhookTimeoutSeconds,
    retryBaseMs: config.webhookRetryBaseMs, maxAttempts: config.webhookMaxAttempts, logger,
  });
  rolloutEvents.on((t) => webhooks.notify(t));
  const census = createCensus(devices, live, cohorts, now, (err) => logger.error({ err }, 'census failed'));
  const fleetMetrics = registerFleetMetrics(metrics.registry, { rollouts, counters, live, census, devices, activity, events: rolloutEvents, now });
  // Eligible counts follow every start, advance and resume (the census is coalesced and sliced).
  const rolloutService = createRolloutService({
    sql, rollouts, releases, cohorts, audit, counters, live, log, trust, now, statementTtlSeconds: config.statementTtlSeconds, events: rolloutEvents, changes,
    onChange: () => void census.run().catch((err: unknown) => logger.error({ err }, 'census failed')),
  });
  const health = createHealthService({ sql, rollouts, rolloutDevices, counters, timeline, service: rolloutService, now, logger });
  const commits = createGroupCommit(sql, {
    // The fleet's hot rows, one group at a time across nodes (cluster/advisory-locks.ts).
    begin: () => holdUntilCommit(sql, ADVISORY_LOCK.fleetWrites),
    beforeEach: () => activity.flushInTransaction(),
    onHookError: (err, hook) =>
      logger.error({ err }, hook === 'beforeEach' ? 'write-behind of poll activity failed inside a group commit' : 'the check after a group commit failed'),
    retried: (err) => logger.warn({ err }, 'a set-based group write failed in the database; the group was written again, each request alone'),
    onGroupError: (err, requests) => logger.error({ err, requests }, 'group commit failed; every request in it was answered 503'),
    committed: (seconds, jobs) => fleetMetrics.committed(seconds, jobs),
  });
  const ingest = createIngestService({
    devices, reports, rollouts, releases, rolloutDevices, counters, timeline, commits, live, cohorts, now,
    policy: () => trust.current().policy.signed,
    onCommitted: (ids) => health.checkHalts(ids).catch((err: unknown) => logger.error({ err }, 'auto-halt check failed')),
  });
  const poll = createPollService({
    live, log, cohorts, rolloutDevices, activity,
    pollIntervalSeconds: config.pollIntervalSeconds,
    pollJitterSeconds: config.pollJitterSeconds,
    loadFactor: input.loadFactor,
  });
  const admission = createAdmissionService({
    sql, store: createAdmissionStore(sql), audit, now, maxPending: config.admissionMaxPending,
    // A replaced or refused key: the device's gateway tokens stop working on every node.
    revoked: async (deviceId) => {
      await menderTokens.revoke(deviceId);
      await changes.publish('device', deviceId);
    },
  });
  // Several nodes sign and check artifact links with one secret, kept in the database (protocol §9).
  const links = createLinkSigner(await sharedSecret(sql, 'mender-artifact-links'));
  const gateway: Principal = { kind: 'operator', role: 'enroller', name: 'mender-gateway', tokenId: 0 };
  const mender: MenderDeps = {
    authenticate: (identity) => admission.request(identity),
    async enroll(deviceId) {
      if (await devices.get(deviceId)) return;
      // Admitted, not yet described: its inventory (or first poll) gives its model and version.
      await enroll({ deviceId, model: '', version: '0.0.0' }, gateway, { commits, devices, audit, now, changes });
    },
    device: (id) => devices.peek(id) ?? devices.get(id),
    setAttributes: async (facts) => void (await setDeviceFacts(facts, { commits, devices, now, changes })),
    seen: (device, version, at) => activity.seen(device.id, version, at),
    offersFor: (device, version, at) => poll.offersFor(device, version, at),
    offered: (deviceId, offers, at) => poll.offered(deviceId, offers, at),
    stateOf: async (rolloutId, deviceId) => ((await rolloutDevices.get(rolloutId, deviceId))?.state ?? null) as DeviceState | null,
    async progress(rolloutId, deviceId) {
      const rollout = await rollouts.summary(rolloutId);
      const rd = rollout ? await rolloutDevices.get(rolloutId, deviceId) : undefined;
      return { rollout: rollout && { releaseId: rollout.releaseId, state: rollout.state }, state: (rd?.state ?? null) as DeviceState | null };
    },
    report: async (device, report) => void (await ingest.record(device, report)),
    tokensChanged: (deviceId) => changes.publish('device', deviceId),
    tokens: menderTokens,
    headers: menderHeaders,
    links,
    logger,
    now,
    publicUrl: config.publicUrl,
    linkTtlSeconds: config.menderLinkTtlSeconds,
    maxJsonBytes: config.maxJsonBytes,
  };
  return {
    config,
    sql,
    trust,
    logger,
    now,
    metrics,
    fleetMetrics,
    rolloutEvents,
    webhooks,
    audit,
    artifacts: createArtifactStore(sql, config.artifactDir ?? join(config.dataDir, 'artifacts')),
    operatorTokens,
    tokenUsage: createTokenUsage(sql, operatorTokens, now),
    releases,
    cohorts,
    devices,
    rollouts,
    rolloutDevices,
    counters,
    timeline,
    reports,
    activity,
    live,
    rolloutService,
    health,
    census,
    log,
    poll,
    ingest,
    admission,
    menderHeaders,
    mender,
    commits,
    jsonBody: jsonBody(config.maxJsonBytes),
    changes,
    stop: () => changes.stop(),
  };
}
