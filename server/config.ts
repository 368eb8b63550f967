import { resolve } from 'node:path';
import { checkDatabaseUrl, databaseUrlOf } from './db/database-url.js';

/** Everything the server can be told, parsed once, validated, frozen. Units live in the names. */
export interface Config {
  host: string;
  port: number;
  /** SQLite file, artifacts and (dev) trust live here. */
  dataDir: string;
  /**
   * OTA_DATABASE_URL (protocol §9): postgres://… keeps the state in PostgreSQL;
   * undefined = SQLite in dataDir. It may hold a password: never log it or
   * the whole config; log redactDatabaseUrl(url) (server/db/database-url.ts).
   */
  databaseUrl: string | undefined;
  /** PostgreSQL connections per process (OTA_DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** PostgreSQL cancels a statement running longer than this (OTA_DATABASE_STATEMENT_TIMEOUT_MS). */
  databaseStatementTimeoutMs: number;
  /** How long a call waits for a PostgreSQL connection (OTA_DATABASE_CONNECT_TIMEOUT_MS). */
  databaseConnectTimeoutMs: number;
  /** Trust folder (protocol §1); undefined = a dev trust folder generated under dataDir. */
  trustDir: string | undefined;
  /** OTA_ARTIFACT_DIR (protocol §9): uploaded artifacts, a folder several nodes may share; undefined = dataDir/artifacts. */
  artifactDir: string | undefined;
  maxJsonBytes: number;
  maxArtifactBytes: number;
  /** Most bytes of entries one GET /v1/log/entries answers (fewer entries than asked above it; protocol-notes). */
  logEntriesMaxBytes: number;
  /** GET /v1/log/entries per client address per minute (a public route: no credential to count by). */
  logEntriesPerMinute: number;
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
  /** Receivers of rollout state changes (docs/protocol-notes.md, "Webhooks"); empty = none. */
  webhookUrls: readonly string[];
  /** HMAC-SHA256 key for X-OTA-Signature; undefined = unsigned deliveries. */
  webhookSecret: string | undefined;
  /** One delivery attempt's time limit. */
  webhookTimeoutSeconds: number;
  /** First retry delay; it doubles per attempt (capped at 5 minutes). */
  webhookRetryBaseMs: number;
  /** Attempts per delivery before it is given up (and logged). */
  webhookMaxAttempts: number;
  /** Re-bind the data folder to this trust folder's root when it was made under another (issue 9). */
  switchTrust: boolean;
  /** protocol §8: the transparency log's name, first line of every checkpoint. */
  logOrigin: string;
  /** Witnesses whose cosignatures the server accepts and serves with its checkpoints. */
  logWitnesses: readonly { name: string; publicHex: string }[];
  /** OTA_PUBLIC_URL: the server's address as devices reach it (behind a proxy); absolute links are built from it, else from the request's Host. */
  publicUrl: string | undefined;
  /** protocol §11: the one hawkBit DDI tenant (OTA_DDI_TENANT, default DEFAULT). */
  ddiTenant: string;
  /** protocol §11: the DDI base poll's `sleep` (OTA_DDI_POLL_SECONDS, default 300, at least 1). */
  ddiPollSeconds: number;
  /** protocol §11: the configData attributes that give a DDI device's model and installed version. */
  ddiModelAttribute: string;
  ddiVersionAttribute: string;
  /** protocol §12 OTA_MENDER_LINK_TTL_SECONDS: how long a signed artifact link sent to a Mender client stays valid. */
  menderLinkTtlSeconds: number;
  /** OTA_ADMISSION_MAX_PENDING: admission requests kept waiting at most (an unknown identity beyond it is answered 429). */
  admissionMaxPending: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const DDI_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** OTA_PUBLIC_URL: an http(s) origin (and optional path prefix), kept without a trailing slash. */
function publicUrlOf(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    const u = new URL(raw);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username && !u.password) return u.href.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  problems.push(`OTA_PUBLIC_URL must be an http(s) URL without query, fragment or credentials, got "${raw.slice(0, 128)}"`);
  return undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** OTA_WEBHOOK_URL: one or more http(s) URLs, separated by commas or whitespace. */
function webhookUrls(raw: string | undefined, problems: string[]): string[] {
  const urls = (raw ?? '').split(/[\s,]+/).filter(Boolean);
  for (const [i, u] of urls.entries()) {
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      url = undefined;
    }
    // Index, not the URL: a receiver's URL may carry its own secret (chat webhooks do), so it is never echoed.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) problems.push(`OTA_WEBHOOK_URL entry ${i + 1} must be an http:// or https:// URL`);
    // fetch refuses credentials in a URL, so such a receiver could never be reached: refuse it here.
    else if (url.username !== '' || url.password !== '') problems.push(`OTA_WEBHOOK_URL entry ${i + 1} must not carry a user or password (sign deliveries with OTA_WEBHOOK_SECRET)`);
  }
  if (new Set(urls).size !== urls.length) problems.push('OTA_WEBHOOK_URL names the same URL twice');
  return urls;
}

export const LOG_ORIGIN_RE = /^[!-*,-~]{1,255}$/;

/** OTA_LOG_WITNESSES: `name=<64 hex Ed25519 public key>`, comma-separated; names are note key names, unique. */
function witnessesOf(raw: string | undefined, problems: string[]): Config['logWitnesses'] {
  if (raw === undefined || raw.trim() === '') return [];
  const out: { name: string; publicHex: string }[] = [];
  for (const item of raw.split(',')) {
    const [name = '', publicHex = ''] = item.trim().split('=');
    if (!LOG_ORIGIN_RE.test(name) || !/^[0-9a-f]{64}$/.test(publicHex) || out.some((w) => w.name === name)) {
      problems.push(`OTA_LOG_WITNESSES must be name=<64 lower-case hex public key>, comma-separated, names unique; "${item.trim().slice(0, 80)}" is not`);
      continue;
    }
    out.push({ name, publicHex });
  }
  return out;
}

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
  for (const key of ['OTA_DDI_TENANT', 'OTA_DDI_MODEL_ATTRIBUTE', 'OTA_DDI_VERSION_ATTRIBUTE'] as const) {
    const v = env[key];
    if (v !== undefined && !DDI_NAME_RE.test(v)) problems.push(`${key} must be 1 to 64 letters, digits, ".", "_" or "-", got "${v.slice(0, 64)}"`);
  }
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`OTA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const logOrigin = env.OTA_LOG_ORIGIN ?? 'ota.local/log';
  // C2SP signed-note: a key name is non-empty, with no whitespace and no '+'.
  if (!LOG_ORIGIN_RE.test(logOrigin)) problems.push(`OTA_LOG_ORIGIN must be 1 to 255 printable ASCII characters without spaces or '+', got "${logOrigin.slice(0, 64)}"`);
  const logWitnesses = witnessesOf(env.OTA_LOG_WITNESSES, problems);
  const trustRaw = overrides.trustDir ?? env.OTA_TRUST_DIR;
  const hooks = webhookUrls(env.OTA_WEBHOOK_URL, problems);
  const secret = env.OTA_WEBHOOK_SECRET === '' ? undefined : env.OTA_WEBHOOK_SECRET;
  if (secret !== undefined && secret.length < 16) problems.push('OTA_WEBHOOK_SECRET must be at least 16 characters');
  if (secret !== undefined && hooks.length === 0) problems.push('OTA_WEBHOOK_SECRET is set but OTA_WEBHOOK_URL is not');
  const databaseUrl = databaseUrlOf(env);
  if (databaseUrl !== undefined) {
    try {
      checkDatabaseUrl(databaseUrl);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const fromEnv: Config = {
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 8080, 0, 65535),
    dataDir: env.OTA_DATA_DIR ?? 'data',
    databaseUrl,
    databasePoolSize: int('OTA_DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseStatementTimeoutMs: int('OTA_DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 24 * 3600 * 1000),
    databaseConnectTimeoutMs: int('OTA_DATABASE_CONNECT_TIMEOUT_MS', 5000, 1, 600_000),
    trustDir: trustRaw,
    artifactDir: env.OTA_ARTIFACT_DIR === undefined || env.OTA_ARTIFACT_DIR.trim() === '' ? undefined : env.OTA_ARTIFACT_DIR,
    maxJsonBytes: int('OTA_MAX_JSON_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxArtifactBytes: int('OTA_MAX_ARTIFACT_BYTES', 4 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    logEntriesMaxBytes: int('OTA_LOG_ENTRIES_MAX_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    logEntriesPerMinute: int('OTA_LOG_ENTRIES_PER_MINUTE', 600, 1, 100_000_000),
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
    webhookUrls: Object.freeze(hooks),
    webhookSecret: secret,
    webhookTimeoutSeconds: int('OTA_WEBHOOK_TIMEOUT_SECONDS', 10, 1, 300),
    webhookRetryBaseMs: int('OTA_WEBHOOK_RETRY_BASE_MS', 1000, 10, 600_000),
    webhookMaxAttempts: int('OTA_WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
    switchTrust: bool('OTA_SWITCH_TRUST', false),
    logOrigin,
    logWitnesses,
    publicUrl: publicUrlOf(env.OTA_PUBLIC_URL, problems),
    ddiTenant: env.OTA_DDI_TENANT ?? 'DEFAULT',
    ddiPollSeconds: int('OTA_DDI_POLL_SECONDS', 300, 1, 24 * 3600),
    ddiModelAttribute: env.OTA_DDI_MODEL_ATTRIBUTE ?? 'model',
    ddiVersionAttribute: env.OTA_DDI_VERSION_ATTRIBUTE ?? 'version',
    menderLinkTtlSeconds: int('OTA_MENDER_LINK_TTL_SECONDS', 900, 60, 7 * 24 * 3600),
    admissionMaxPending: int('OTA_ADMISSION_MAX_PENDING', 10_000, 1, 10_000_000),
  };
  const merged = { ...fromEnv, ...overrides };
  const config: Config = {
    ...merged,
    dataDir: resolve(merged.dataDir),
    trustDir: merged.trustDir === undefined ? undefined : resolve(merged.trustDir),
    artifactDir: merged.artifactDir === undefined ? undefined : resolve(merged.artifactDir),
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}
