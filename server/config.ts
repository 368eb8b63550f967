import { resolve } from 'node:path';

/** Everything the server can be told, parsed once, validated, frozen. Units live in the names. */
export interface Config {
  host: string;
  port: number;
  /** SQLite file, artifacts and (dev) trust live here. */
  dataDir: string;
  /** Trust folder (protocol §1); undefined = a dev trust folder generated under dataDir. */
  trustDir: string | undefined;
  maxJsonBytes: number;
  maxArtifactBytes: number;
  /** Lifetime of signed rollout statements (protocol §6: default 1 hour). */
  statementTtlSeconds: number;
  /** Base poll interval handed to devices; jitter is added on top. */
  pollIntervalSeconds: number;
  pollJitterSeconds: number;
  /** How often the health rules (timeouts, auto-halt, auto-advance, re-signing) run. */
  healthIntervalSeconds: number;
  /** Requests per minute per operator token (enrollment included). */
  rateLimitPerMinute: number;
  /** Refused (401/403) requests per minute per client address before 429. */
  authFailuresPerMinute: number;
  /** Devices kept in memory for the poll's authentication (devices/device-cache.ts); 0 = none. */
  deviceCacheEntries: number;
  /** How often eligible-device counts are recomputed for status. */
  censusIntervalSeconds: number;
  /** Connection limits (http/server-limits.ts): slow headers, whole requests, idle sockets, keep-alive. */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  keepAliveSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Publish the example release and a running rollout on a fresh dev data folder. */
  demo: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

type Source = Record<string, string | undefined>;

/**
 * Builds the config from environment-style keys (OTA_*, plus HOST and PORT).
 * A bad value stops start-up with every problem listed; nothing falls back silently.
 */
export function loadConfig(env: Source = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = [];
  const int = (key: string, def: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
      return def;
    }
    return n;
  };
  const bool = (key: string, def: boolean): boolean => {
    const raw = env[key];
    if (raw === undefined || raw === '') return def;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${key} must be true or false, got "${raw}"`);
    return def;
  };
  const level = env.OTA_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`OTA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const trustRaw = overrides.trustDir ?? env.OTA_TRUST_DIR;
  const fromEnv: Config = {
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 8080, 0, 65535),
    dataDir: env.OTA_DATA_DIR ?? 'data',
    trustDir: trustRaw,
    maxJsonBytes: int('OTA_MAX_JSON_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxArtifactBytes: int('OTA_MAX_ARTIFACT_BYTES', 4 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    statementTtlSeconds: int('OTA_STATEMENT_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    pollIntervalSeconds: int('OTA_POLL_INTERVAL_SECONDS', 900, 1, 7 * 24 * 3600),
    pollJitterSeconds: int('OTA_POLL_JITTER_SECONDS', 300, 0, 24 * 3600),
    healthIntervalSeconds: int('OTA_HEALTH_INTERVAL_SECONDS', 10, 1, 3600),
    rateLimitPerMinute: int('OTA_RATE_LIMIT_PER_MINUTE', 12_000, 1, 100_000_000),
    authFailuresPerMinute: int('OTA_AUTH_FAILURES_PER_MINUTE', 300, 1, 100_000_000),
    censusIntervalSeconds: int('OTA_CENSUS_INTERVAL_SECONDS', 300, 1, 24 * 3600),
    deviceCacheEntries: int('OTA_DEVICE_CACHE_ENTRIES', 200_000, 0, 100_000_000),
    headersTimeoutSeconds: int('OTA_HEADERS_TIMEOUT_SECONDS', 20, 1, 3600),
    requestTimeoutSeconds: int('OTA_REQUEST_TIMEOUT_SECONDS', 900, 1, 24 * 3600),
    idleTimeoutSeconds: int('OTA_IDLE_TIMEOUT_SECONDS', 60, 1, 3600),
    keepAliveSeconds: int('OTA_KEEP_ALIVE_SECONDS', 5, 1, 3600),
    logLevel: level as Config['logLevel'],
    demo: bool('OTA_DEMO', trustRaw === undefined),
  };
  const merged = { ...fromEnv, ...overrides };
  const config: Config = {
    ...merged,
    dataDir: resolve(merged.dataDir),
    trustDir: merged.trustDir === undefined ? undefined : resolve(merged.trustDir),
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}
