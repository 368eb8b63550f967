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
import { createCohortService, type CohortService } from './cohorts/cohort-service.js';
import { createTokenService, type TokenService } from './auth/token-service.js';
import { createHealthStore, type HealthStore } from './ops/health-store.js';
import { publishRelease, type PublishOutcome } from './releases/publish-service.js';
import type { ReleaseEnvelope } from './protocol/release-manifest.js';
import { createDeviceCore, type DeviceCore } from './device-core/device-core.js';
import { jsonBody } from './http/json-body.js';
import { registerFleetMetrics, type FleetMetrics } from './ops/fleet-metrics.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { MAX_LOAD_FACTOR } from './ops/load-gauge.js';
import { createDatabaseOutage, type DatabaseOutage } from './db/outage.js';
import { createWebhookNotifier, type WebhookNotifier } from './notifications/webhook-notifier.js';
import { createWebhookOutboxStore } from './notifications/webhook-outbox-store.js';
import { createReleaseStore, type ReleaseStore } from './releases/release-store.js';
import { createIngestService, type IngestService } from './reports/ingest-service.js';
import type { DeviceState } from './protocol/report-rules.js';
import { createReportStore, type ReportStore } from './reports/report-store.js';
import { createCensus, type Census } from './devices/census.js';
import { createHealthService, type HealthService } from './rollouts/health-service.js';
import { createLiveRollouts, type LiveRollouts } from './rollouts/live-rollouts.js';
import { createRolloutEvents, isAutomatic, type RolloutEvents } from './rollouts/rollout-events.js';
import { createCounterStore, type CounterStore } from './rollouts/rollout-counters.js';
import { createRolloutDeviceStore, type RolloutDeviceStore } from './rollouts/rollout-device-store.js';
import { CANCELLED_OFFER_TOPIC, createCancelledOffers, type CancelledOffers } from './rollouts/cancelled-offers.js';
import { createRolloutService, type RolloutService } from './rollouts/rollout-service.js';
import { createRolloutStore, type RolloutStore } from './rollouts/rollout-store.js';
import { createTimelineStore, type TimelineStore } from './rollouts/rollout-timeline.js';
import { logAtStartup } from './transparency/log-documents.js';
import { createLogStore } from './transparency/log-store.js';
import { createTransparencyLog, type TransparencyLog } from './transparency/transparency-log.js';
import { toTimestamp } from './protocol/trust/time.js';
import type { ChangeFeed } from './cluster/change-feed.js';
import { createNodeChangeFeed } from './cluster/node-change-feed.js';
import type { Leadership } from './cluster/leadership.js';
import { ADVISORY_LOCK } from './cluster/advisory-locks.js';
import type { TrustState } from './trust/trust-state.js';
import { AppError, isAppError } from './errors.js';
import { decommissionDevice } from './devices/decommission-service.js';
import { cancelUpdate, type CancelledUpdate } from './rollouts/cancel-update-service.js';
import { withdrawRelease, type Withdrawal } from './releases/withdraw-service.js';
import { pruneArtifacts, type PruneResult } from './artifacts/prune-service.js';
import { createDdiGateway, type DdiGateway } from './ddi/ddi-gateway.js';
import { createDdiStore } from './ddi/ddi-store.js';
import { envelopeOf } from './releases/release-store.js';
import { actorOf } from './auth/principal.js';

/** A refused credential reads as none over DDI (401); anything else (the database away: 503) is passed on. */
const refusedOnly = (e: unknown): undefined => {
  if (isAppError(e) && (e.code === 'unauthorized' || e.code === 'forbidden')) return undefined;
  throw e;
};

/** Change-feed topic of a DDI controller's record (its actions, its configData): key = device id. */
const DDI_TOPIC = 'ddi-controller';
import { createAdmissionService, type AdmissionService } from './devices/admission/admission-service.js';
import { createAdmissionStore } from './devices/admission/admission-store.js';
import { createLinkSigner } from './mender/artifact-links.js';
import type { MenderDeps } from './mender/mender-deps.js';
import { createDeploymentStates, MENDER_CLOSED_TOPIC } from './mender/deployment-states.js';
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
  /** One log line per database outage, not one per refused request (db/outage.ts). */
  outage: DatabaseOutage;
  /** Fleet figures for /metrics (rollouts, devices, group commit); see docs/operations.md. */
  fleetMetrics: FleetMetrics;
  /** Every committed rollout creation and transition (metrics, logs and webhooks listen). */
  rolloutEvents: RolloutEvents;
  /** OTA_WEBHOOK_URL receivers of every rollout transition, from the outbox (the leader delivers; `stop` closes it). */
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
  /** Offers operators withdrew from single devices (protocol §7 cancel-update), in memory for the poll path. */
  cancelled: CancelledOffers;
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
  /** protocol §11: the hawkBit DDI gateway, translating to the services above. */
  ddi: DdiGateway;
  /** The one door of every device protocol (device-core/device-core.ts). */
  core: DeviceCore;
  cohortService: CohortService;
  tokenService: TokenService;
  /** What /healthz asks the database. */
  databaseHealth: HealthStore;
  /** protocol §3: publishes a signed release (publish-service.ts, bound to its stores). */
  publish(envelope: ReleaseEnvelope, actor: string): Promise<PublishOutcome>;
  /** protocol §7: withdraws a release, its withdrawal statement logged (withdraw-service.ts, bound to its stores). */
  withdraw(id: string, reason: string, actor: string): Promise<Withdrawal>;
  /** protocol §7: decommissions a device (decommission-service.ts, bound to its stores). */
  decommission(deviceId: string, actor: string): Promise<number>;
  /** protocol §7: withdraws one device's open offer (cancel-update-service.ts, bound to its stores). */
  cancelUpdate(deviceId: string, rolloutId: string, actor: string): Promise<CancelledUpdate>;
  /** Artifacts no published release references, listed or removed (prune-service.ts, bound to its stores). */
  pruneArtifacts(opts: { dryRun: boolean; minAgeSeconds: number }, actor: string): Promise<PruneResult>;
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
  /** Stops webhook deliveries and following the change feed (shutdown; the database is closed by its owner). */
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
  /** protocol §9: whether this node runs the singleton work (webhook delivery); default: it does (one node). */
  leadership?: Pick<Leadership, 'isLeader'>;
}

/**
 * Builds every store, service and in-memory view, and fills the views from
 * the store (cohorts, transparency log, live rollouts) before it resolves.
 */
export async function createContext(input: ContextInput): Promise<AppContext> {
  const { config, sql, trust } = input;
  const logger = input.logger ?? pino({ level: config.logLevel });
  const metrics = createMetrics();
  const outage = createDatabaseOutage({ logger, probe: () => sql.value('SELECT 1'), counter: metrics.databaseUnavailable });
  /** A background failure: one outage line while the database is away, else an error line of its own. */
  const jobFailed = (msg: string, extra: Record<string, unknown> = {}) => (err: unknown): void => {
    if (!outage.failed(err, 'job')) logger.error({ err, ...extra }, msg);
  };
  const now = input.now ?? (() => new Date());
  const audit = createAuditStore(sql);
  const releases = createReleaseStore(sql);
  const cohorts = createCohortStore(sql);
  // A full device cache keeps devices that polled within two poll cycles (device-cache.ts): a fleet
  // larger than the cache then gets capacity/fleet of its polls from memory instead of none. The
  // cycle is the longest a device is told to wait: the native or DDI interval (Mender clients choose
  // their own, 30 minutes by default, inside this), stretched by the most the load gauge asks for.
  const pollCycleSeconds = Math.max(config.pollIntervalSeconds + config.pollJitterSeconds, config.ddiPollSeconds) * MAX_LOAD_FACTOR;
  const devices = createDeviceStore(sql, { cacheEntries: config.deviceCacheEntries, cache: { idleMs: 2 * pollCycleSeconds * 1000 } });
  const rollouts = createRolloutStore(sql);
  const rolloutDevices = createRolloutDeviceStore(sql);
  const cancelled = createCancelledOffers(sql);
  const counters = createCounterStore(sql);
  const timeline = createTimelineStore(sql);
  const reports = createReportStore(sql);
  const operatorTokens = createOperatorTokenStore(sql);
  const activity = createActivityBuffer(sql, devices, rolloutDevices, counters);
  const log = createTransparencyLog({ store: createLogStore(sql), trust, origin: config.logOrigin, witnesses: config.logWitnesses });
  // Created outside any transaction (SQLite's feed keeps its pending changes on the connection).
  const changes = createNodeChangeFeed({ sql, databaseUrl: config.databaseUrl, onError: jobFailed('change feed failed') });
  const live = createLiveRollouts(rollouts, releases, log);
  // protocol §12: a device's earlier Mender tokens stay valid 10 minutes after a new one is issued.
  const menderTokens = createMenderTokenStore(sql, { graceMs: 10 * 60 * 1000, maxCached: Math.max(1000, config.deviceCacheEntries) });
  const menderHeaders = createMenderArtifactStore(sql);
  // Each view follows the feed from before it is first loaded, so nothing committed in between is
  // missed; a view re-reads what changed from the store (never stale, never partial).
  live.follow(changes);
  cohorts.follow(changes);
  devices.follow(changes);
  // Withdrawn offers of single devices (protocol §7 cancel-update) reach every node's poll.
  changes.subscribe(async (c) => {
    if (c.topic === CANCELLED_OFFER_TOPIC && c.key !== null) await cancelled.changed(c.key);
    // A Mender device's tokens follow its record (a re-admission or decommission on another node).
    if (c.topic === 'device' && c.key !== null) menderTokens.forget(c.key);
  });
  await changes.start();
  await logAtStartup(trust.current(), toTimestamp(now()), { sql, log, releases, rollouts, changes });
  await cohorts.refresh();
  await live.refresh();
  await cancelled.refresh();
  const rolloutEvents = createRolloutEvents(logger);
  // Operators' actions are logged with their request (http/request-observer.ts); the server's own
  // advances and completions here (health-service.ts already warns of an auto-halt, with its figures).
  rolloutEvents.on((t) => {
    if (isAutomatic(t) && t.to.state !== 'halted') logger.info({ rollout: t.rolloutId, action: t.action, actor: t.actor, from: t.from, to: t.to }, 'rollout changed by the server');
  });
  const { leadership } = input;
  const webhooks = createWebhookNotifier({
    urls: config.webhookUrls, secret: config.webhookSecret, timeoutSeconds: config.webhookTimeoutSeconds,
    retryBaseMs: config.webhookRetryBaseMs, maxAttempts: config.webhookMaxAttempts, logger,
    store: createWebhookOutboxStore(sql),
    ...(leadership ? { leads: () => leadership.isLeader() } : {}),
    counted: (outcome, n) => metrics.webhookDeliveries.inc({ outcome }, n),
    onError: jobFailed('webhook delivery failed'),
  });
  // The outbox row was written in the change's transaction; this only says "deliver now" (on the leader).
  rolloutEvents.on(() => webhooks.wake());
  const census = createCensus(devices, live, cohorts, now, jobFailed('census failed'));
  const tokenUsage = createTokenUsage(sql, operatorTokens, now);
  const fleetMetrics = registerFleetMetrics(metrics.registry, { rollouts, counters, live, census, devices, activity, events: rolloutEvents, now });
  // Eligible counts follow every start, advance and resume (the census is coalesced and sliced).
  const rolloutService = createRolloutService({
    sql, rollouts, releases, cohorts, audit, counters, live, log, trust, now, statementTtlSeconds: config.statementTtlSeconds, events: rolloutEvents, changes,
    outbox: webhooks,
    onChange: () => void census.run().catch(jobFailed('census failed')),
  });
  const health = createHealthService({ sql, rollouts, rolloutDevices, counters, timeline, service: rolloutService, now, logger });
  const commits = createGroupCommit(sql, {
    // The fleet's hot rows, one group at a time across nodes (cluster/advisory-locks.ts).
    lock: ADVISORY_LOCK.fleetWrites,
    beforeEach: () => activity.flushInTransaction(),
    onHookError: (err, hook) =>
      jobFailed(hook === 'beforeEach' ? 'write-behind of poll activity failed inside a group commit' : 'the check after a group commit failed')(err),
    retried: (err) => void (outage.failed(err, 'job') || logger.warn({ err }, 'a set-based group write failed in the database; the group was written again, each request alone')),
    onGroupError: (err, requests) => {
      // Every request of the group is answered 503: counted once each, logged once per outage.
      let away = false;
      for (let i = 0; i < requests; i++) away = outage.failed(err, 'request');
      if (!away) logger.error({ err, requests }, 'group commit failed; every request in it was answered 503');
    },
    committed: (seconds, jobs) => fleetMetrics.committed(seconds, jobs),
  });
  const ingest = createIngestService({
    devices, reports, rollouts, releases, rolloutDevices, counters, timeline, commits, live, cohorts, now,
    policy: () => trust.current().policy.signed,
    onCommitted: (ids) => health.checkHalts(ids).catch(jobFailed('auto-halt check failed')),
  });
  const poll = createPollService({
    live, log, cohorts, rolloutDevices, activity, cancelled,
    pollIntervalSeconds: config.pollIntervalSeconds,
    pollJitterSeconds: config.pollJitterSeconds,
    loadFactor: input.loadFactor,
  });
  const core = createDeviceCore({ devices, operatorTokens, tokenUsage, poll, activity, ingest, commits, audit, changes, fleetMetrics, now });
  const cohortService = createCohortService({
    sql, cohorts, audit, changes, rollouts,
    recount: () => void census.run().catch(jobFailed('census failed')),
  });
  const tokenService = createTokenService({ sql, operatorTokens, audit });
  const publish = (envelope: ReleaseEnvelope, actor: string): Promise<PublishOutcome> =>
    publishRelease(envelope, actor, { sql, releases, artifacts, audit, log, trust, now, changes, menderHeaders });
  const artifacts = createArtifactStore(sql, config.artifactDir ?? join(config.dataDir, 'artifacts'));
  /**
   * Whether a rollout still offers its release to a device, from this node's live view (protocol
   * §5, §7): not once it halted, was cancelled, its release withdrawn (the live view drops it), or
   * the update cancelled for this device alone. What DDI links (deploymentBase or cancelAction).
   */
  const serving = (rolloutId: string, deviceId: string): boolean => live.current().some((l) => l.id === rolloutId) && !cancelled.has(rolloutId, deviceId);
  // protocol §11: the DDI gateway, wired to the services the native routes call (enrollment, the poll's
  // offers, durable report ingestion); its own store holds only its actions and controllers.
  const gateway = createDdiGateway({
    // §11: any refused credential is 401 over DDI (the core's 403 for another device's token included).
    authenticate: (deviceId, token) => {
      try {
        const found = core.authenticate(deviceId, `Bearer ${token}`);
        return found instanceof Promise ? found.catch(refusedOnly) : found;
      } catch (e) {
        return refusedOnly(e);
      }
    },
    authenticateOperator: (token) => core.credential(`Bearer ${token}`).then((p) => (p.kind === 'operator' ? p : undefined), refusedOnly),
    // protocol §7: a decommissioned controller is no device of the fleet to a gateway token either:
    // 401 on every DDI route, as its own TargetToken gets (docs/protocol-notes.md, decommission).
    device: async (id) => {
      // A valid gateway token asked: not a refused credential of its address (no lockout count).
      if (await devices.decommissionedAt(id)) throw new AppError('unauthorized', `device ${id} was decommissioned; an enroller must enroll it again`, { lockout: false });
      return devices.get(id);
    },
    enroll: async (deviceId, by) => {
      // protocol §7: only an enrollment credential brings a decommissioned id back, never a gateway's poll.
      if (await devices.decommissionedAt(deviceId)) throw new AppError('unauthorized', `device ${deviceId} was decommissioned; an enroller must enroll it again`);
      // A gateway-registered controller has no model until its configData names one (offered nothing until then).
      await core.enroll({ deviceId, model: '', version: '0.0.0' }, by, undefined, 'ddi');
      // A credential other than the device's own created a device: on the record, with who did it
      // (in the group commit: the audit chain takes one writer at a time).
      await commits.run(() => audit.append({ actor: actorOf(by), action: 'ddi.register', subject: deviceId, details: {} }, toTimestamp(now())));
    },
    offers: (device, at) => core.eligibleOffers(device, device.version, at),
    installAfter: (offer, at) => core.installAfter(offer, at),
    installAfterOffered: async (rolloutId, deviceId, at) => core.installAfterIn(rolloutId, (await rolloutDevices.get(rolloutId, deviceId))?.stage, at),
    made: (deviceId, offer, at) => core.offerMade(deviceId, offer, at),
    serving,
    report: async (device, report, alongside) => void (await core.report(device, [report], { assignSeq: true, alongside })),
    setAttributes: async (deviceId, facts) => void (await core.updateFacts(deviceId, facts)),
    seen: (deviceId, version, at) => activity.seen(deviceId, version, at),
    release: async (releaseId) => {
      const stored = await releases.get(releaseId);
      if (!stored) return undefined;
      const signed = envelopeOf(stored).signed;
      return { version: signed.version, mandatory: signed.mandatory === true, artifact: signed.artifact };
    },
    artifact: (sha256) => artifacts.details(sha256),
    changed: (deviceId) => changes.publish(DDI_TOPIC, deviceId),
    store: createDdiStore(sql),
    now,
    config: { pollSeconds: config.ddiPollSeconds, modelAttribute: config.ddiModelAttribute, versionAttribute: config.ddiVersionAttribute, cacheEntries: config.deviceCacheEntries },
  });
  // Followed from here: before, the gateway had nothing cached to drop.
  changes.subscribe((c) => {
    if (c.topic === DDI_TOPIC && c.key !== null) gateway.forget(c.key);
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
  // An admitted identity is enrolled by the gateway itself (protocol §12: admission is the credential).
  const menderDeployments = createDeploymentStates({
    read: async (rolloutId, deviceId) => ((await rolloutDevices.get(rolloutId, deviceId))?.state ?? null) as DeviceState | null,
    publish: (key) => changes.publish(MENDER_CLOSED_TOPIC, key),
    max: Math.max(1000, config.deviceCacheEntries),
  });
  changes.subscribe((c) => {
    if (c.topic === MENDER_CLOSED_TOPIC && c.key !== null) menderDeployments.heard(c.key);
  });
  const menderEnroller: Principal = { kind: 'operator', role: 'enroller', name: 'mender-gateway', tokenId: 0 };
  const mender: MenderDeps = {
    authenticate: (identity) => admission.request(identity),
    async enroll(deviceId) {
      const decommissioned = await devices.decommissionedAt(deviceId);
      // protocol §7: a decommissioned device stays out; admission does not bring it back.
      if (decommissioned) throw new AppError('unauthorized', `device ${deviceId} was decommissioned; an enroller must enroll it again`);
      if (decommissioned === null) return;
      // Admitted, not yet described: its inventory (or first poll) gives its model and version.
      await core.enroll({ deviceId, model: '', version: '0.0.0' }, menderEnroller);
    },
    // After the Mender token was checked: a use of the device's cache entry.
    device: (id) => devices.recall(id) ?? devices.get(id),
    setAttributes: async ({ id, ...facts }) => void (await core.updateFacts(id, facts)),
    seen: (device, version, at) => activity.seen(device.id, version, at),
    offersFor: (device, version, at) => poll.offersFor(device, version, at),
    offered: (deviceId, offers, at) => poll.offered(deviceId, offers, at),
    deployments: menderDeployments,
    // From the database, not this node's live view (which may lag a change on another node by up to
    // a second): what a status request decides is written durably (protocol §7 withdraw, §12 halt).
    async progress(rolloutId, deviceId) {
      const rollout = await rollouts.summary(rolloutId);
      const [rd, release] = rollout ? await Promise.all([rolloutDevices.get(rolloutId, deviceId), releases.get(rollout.releaseId)]) : [undefined, undefined];
      const summary = rollout && { releaseId: rollout.releaseId, state: rollout.state, withdrawn: Boolean(release?.withdrawalJson) };
      return { rollout: summary, state: (rd?.state ?? null) as DeviceState | null };
    },
    // The server numbers a Mender status (it has no seq of its own), inside the group commit.
    report: async (device, report) => void (await core.report(device, [{ ...report, seq: 0 }], { assignSeq: true })),
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
    ddi: gateway,
    logger,
    now,
    metrics,
    fleetMetrics,
    rolloutEvents,
    webhooks,
    audit,
    artifacts,
    operatorTokens,
    tokenUsage,
    releases,
    cohorts,
    devices,
    rollouts,
    rolloutDevices,
    cancelled,
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
    core,
    cohortService,
    tokenService,
    databaseHealth: createHealthStore(sql),
    publish,
    withdraw: (id, reason, actor) => withdrawRelease(id, reason, actor, { sql, releases, log, audit, trust, live, changes, now }),
    decommission: (deviceId, actor) => decommissionDevice(deviceId, actor, { sql, devices, audit, changes, now, revokeGatewayCredentials: (id) => menderTokens.revoke(id) }),
    cancelUpdate: (deviceId, rolloutId, actor) =>
      cancelUpdate(deviceId, rolloutId, actor, { sql, rollouts, devices, rolloutDevices, counters, activity, cancelled, audit, changes, now }),
    pruneArtifacts: (opts, actor) => pruneArtifacts(opts, actor, { sql, artifacts, releases, audit, now }),
    admission,
    menderHeaders,
    mender,
    commits,
    jsonBody: jsonBody(config.maxJsonBytes),
    changes,
    outage,
    stop: async () => {
      await webhooks.close();
      outage.stop();
      return changes.stop();
    },
  };
}
