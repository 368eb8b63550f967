import type { RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Db } from './db/open.js';
import { createAuditStore, type AuditStore } from './audit/audit-store.js';
import { createArtifactStore, type ArtifactStore } from './artifacts/artifact-store.js';
import { createOperatorTokenStore, type OperatorTokenStore } from './auth/operator-token-store.js';
import { createCohortStore, type CohortStore } from './cohorts/cohort-store.js';
import { createGroupCommit, type GroupCommit } from './db/group-commit.js';
import { createActivityBuffer, type ActivityBuffer } from './devices/activity-buffer.js';
import { createDeviceStore, type DeviceStore } from './devices/device-store.js';
import { createPollService, type PollService } from './devices/poll-service.js';
import { jsonBody } from './http/json-body.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createReleaseStore, type ReleaseStore } from './releases/release-store.js';
import { createIngestService, type IngestService } from './reports/ingest-service.js';
import { createReportStore, type ReportStore } from './reports/report-store.js';
import { createCensus, type Census } from './rollouts/census.js';
import { createHealthService, type HealthService } from './rollouts/health-service.js';
import { createLiveRollouts, type LiveRollouts } from './rollouts/live-rollouts.js';
import { createCounterStore, type CounterStore } from './rollouts/rollout-counters.js';
import { createRolloutDeviceStore, type RolloutDeviceStore } from './rollouts/rollout-device-store.js';
import { createRolloutService, type RolloutService } from './rollouts/rollout-service.js';
import { createRolloutStore, type RolloutStore } from './rollouts/rollout-store.js';
import type { TrustState } from './trust/trust-state.js';

/** Everything a route or service may use, built once from config by the composition root (or a test). */
export interface AppContext {
  config: Readonly<Config>;
  db: Db;
  logger: Logger;
  now: () => Date;
  trust: TrustState;
  metrics: Metrics;
  audit: AuditStore;
  artifacts: ArtifactStore;
  operatorTokens: OperatorTokenStore;
  releases: ReleaseStore;
  cohorts: CohortStore;
  devices: DeviceStore;
  rollouts: RolloutStore;
  rolloutDevices: RolloutDeviceStore;
  counters: CounterStore;
  reports: ReportStore;
  activity: ActivityBuffer;
  live: LiveRollouts;
  rolloutService: RolloutService;
  health: HealthService;
  census: Census;
  poll: PollService;
  ingest: IngestService;
  commits: GroupCommit;
  jsonBody: RequestHandler;
}

export interface ContextInput {
  config: Readonly<Config>;
  db: Db;
  trust: TrustState;
  logger?: Logger;
  now?: () => Date;
  /** Multiplier for pollAfterSeconds under load (serve.ts wires an event-loop gauge). */
  loadFactor?: () => number;
}

export function createContext(input: ContextInput): AppContext {
  const { config, db, trust } = input;
  const logger = input.logger ?? pino({ level: config.logLevel });
  const now = input.now ?? (() => new Date());
  const audit = createAuditStore(db);
  const releases = createReleaseStore(db);
  const cohorts = createCohortStore(db);
  const devices = createDeviceStore(db, { cacheEntries: config.deviceCacheEntries });
  const rollouts = createRolloutStore(db);
  const rolloutDevices = createRolloutDeviceStore(db);
  const counters = createCounterStore(db);
  const reports = createReportStore(db);
  const activity = createActivityBuffer(db, devices, rolloutDevices, counters);
  const live = createLiveRollouts(rollouts, releases);
  // Eligible counts follow every start, advance and resume (the census is coalesced and sliced).
  let census: Census | undefined;
  const rolloutService = createRolloutService({
    db, rollouts, releases, cohorts, audit, live, trust, now, statementTtlSeconds: config.statementTtlSeconds,
    onChange: () => void census?.run().catch((err: unknown) => logger.error({ err }, 'census failed')),
  });
  const health = createHealthService({ db, rollouts, rolloutDevices, counters, service: rolloutService, now, logger });
  const commits = createGroupCommit(db, {
    beforeEach: () => activity.flushInTransaction(),
    onHookError: (err) => logger.error({ err }, 'write-behind of poll activity failed inside a group commit'),
  });
  const ingest = createIngestService({
    devices, reports, rollouts, releases, rolloutDevices, counters, commits, live, cohorts, now,
    policy: () => trust.current().policy.signed,
    onCommitted: (ids) => {
      try {
        health.checkHalts(ids);
      } catch (err) {
        logger.error({ err }, 'auto-halt check failed');
      }
    },
  });
  return {
    config,
    db,
    trust,
    logger,
    now,
    metrics: createMetrics(),
    audit,
    artifacts: createArtifactStore(db, join(config.dataDir, 'artifacts')),
    operatorTokens: createOperatorTokenStore(db),
    releases,
    cohorts,
    devices,
    rollouts,
    rolloutDevices,
    counters,
    reports,
    activity,
    live,
    rolloutService,
    health,
    census: (census = createCensus(db, live, cohorts, now, (err) => logger.error({ err }, 'census failed'))),
    poll: createPollService({
      live, cohorts, rolloutDevices, activity,
      pollIntervalSeconds: config.pollIntervalSeconds,
      pollJitterSeconds: config.pollJitterSeconds,
      loadFactor: input.loadFactor,
    }),
    ingest,
    commits,
    jsonBody: jsonBody(config.maxJsonBytes),
  };
}
