import type { RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Db } from './db/open.js';
import { createAuditStore, type AuditStore } from './audit/audit-store.js';
import { createArtifactStore, type ArtifactStore } from './artifacts/artifact-store.js';
import { createOperatorTokenStore, type OperatorTokenStore } from './auth/operator-token-store.js';
import { jsonBody } from './http/json-body.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createReleaseStore, type ReleaseStore } from './releases/release-store.js';
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
  jsonBody: RequestHandler;
}

export interface ContextInput {
  config: Readonly<Config>;
  db: Db;
  trust: TrustState;
  logger?: Logger;
  now?: () => Date;
}

export function createContext(input: ContextInput): AppContext {
  const { config, db } = input;
  return {
    config,
    db,
    trust: input.trust,
    logger: input.logger ?? pino({ level: config.logLevel }),
    now: input.now ?? (() => new Date()),
    metrics: createMetrics(),
    audit: createAuditStore(db),
    artifacts: createArtifactStore(db, join(config.dataDir, 'artifacts')),
    operatorTokens: createOperatorTokenStore(db),
    releases: createReleaseStore(db),
    jsonBody: jsonBody(config.maxJsonBytes),
  };
}
