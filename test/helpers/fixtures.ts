import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, onTestFinished } from 'vitest';
import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { createApp } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createContext, type AppContext } from '../../server/context.js';
import { signEnvelope, type Envelope } from '../../server/protocol/crypto/envelope.js';
import { writePrivateKeyFile } from '../../server/protocol/crypto/key-files.js';
import { generatePrivateKey, type PrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { openSqlite } from '../../server/db/open.js';
import type { Sql } from '../../server/db/sql.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { buildRoot } from '../../server/protocol/trust/build.js';
import { writeJson } from '../../server/trust/dev-trust.js';
import type { RootSigned } from '../../server/protocol/trust/root.js';
import type { PolicySigned } from '../../server/protocol/trust/settings-policy.js';
import { loadTrustFolder, trustPaths } from '../../server/trust/trust-folder.js';
import { createTrustState } from '../../server/trust/trust-state.js';
import type { ReleaseSigned } from '../../server/protocol/release-manifest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder removed after the test. */
export function tempDir(prefix = 'ota-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface TrustFixture {
  dir: string;
  rootKeys: PrivateKey[];
  releaseKeys: PrivateKey[];
  onlineKey: PrivateKey;
  root: RootSigned;
}

export const FUTURE = '2099-01-01T00:00:00Z';

/** Writes a complete trust folder (protocol §1) signed by generated keys. */
export function makeTrust(opts: { rootKeys?: number; rootThreshold?: number; releaseKeys?: number; releaseThreshold?: number; policy?: PolicySigned } = {}): TrustFixture {
  const dir = tempDir('ota-trust-');
  const rootKeys = Array.from({ length: opts.rootKeys ?? 1 }, () => generatePrivateKey());
  const releaseKeys = Array.from({ length: opts.releaseKeys ?? 1 }, () => generatePrivateKey());
  const onlineKey = generatePrivateKey();
  const root = buildRoot({
    version: 1,
    expires: FUTURE,
    roles: {
      root: { keys: rootKeys, threshold: opts.rootThreshold ?? 1 },
      release: { keys: releaseKeys, threshold: opts.releaseThreshold ?? 1 },
      online: { keys: [onlineKey], threshold: 1 },
    },
  });
  const signers = rootKeys.map(ed25519Signer);
  const paths = trustPaths(dir);
  mkdirSync(dir, { recursive: true });
  writeJson(paths.root, signEnvelope({ signed: root }, signers));
  writeJson(paths.policy, signEnvelope({ signed: opts.policy ?? (examplePolicy as PolicySigned) }, signers));
  writePrivateKeyFile(paths.onlineKey, onlineKey);
  return { dir, rootKeys, releaseKeys, onlineKey, root };
}

export function releaseBody(over: Partial<ReleaseSigned> = {}): ReleaseSigned {
  return {
    type: 'release',
    id: 'redmi-1s-cloud-optin-2014-08',
    models: ['redmi-1s'],
    appliesTo: '>=1.4.0 <1.4.3',
    settings: [{ key: 'cloud.messaging.enabled', value: false, mode: 'default' }],
    mandatory: false,
    downgrade: false,
    issuedAt: '2026-11-24T10:00:00Z',
    ...over,
  };
}

export const signWith = <T>(signed: T, keys: PrivateKey[]): Envelope<T> => signEnvelope({ signed }, keys.map(ed25519Signer));

export interface AppFixture {
  ctx: AppContext;
  app: ReturnType<typeof createApp>;
  trust: TrustFixture;
  tokens: Record<OperatorRole, string>;
  clock: { now: Date };
}

const databases: TestDatabase[] = [];
const contexts: AppContext[] = [];
afterAll(async () => {
  // Contexts first: their change feeds hold sessions on the databases dropped next.
  for (const c of contexts.splice(0)) await c.stop();
  for (const d of databases.splice(0)) await d.drop();
});

/**
 * Releases what a fixture holds (a change feed's session, a PostgreSQL
 * database) when the test that made it ends, or — made in a beforeAll —
 * when the file ends: a file of hundreds of one-app tests never piles up
 * connections.
 */
function release(ctx: AppContext | undefined, db: TestDatabase | undefined): void {
  try {
    onTestFinished(async () => {
      await ctx?.stop();
      await db?.drop();
    });
  } catch {
    // Not inside a test (a beforeAll): kept until the file's afterAll.
    if (ctx) contexts.push(ctx);
    if (db) databases.push(db);
  }
}

/**
 * The engine every fixture runs on: a SQLite file in the data folder, or with
 * OTA_TEST_ENGINE=postgres a fresh PostgreSQL database (dropped after the file),
 * so .ci/run can run the whole suite once per engine (protocol §9).
 */
export async function testEngine(dataDir: string): Promise<{ sql: Sql; databaseUrl?: string; db?: TestDatabase }> {
  if (process.env.OTA_TEST_ENGINE !== 'postgres') return { sql: openSqlite(join(dataDir, 'ota.db')) };
  const db = await createTestDatabase('postgres', { poolSize: 4, idleTimeoutMs: 2000 });
  return { sql: db.sql, databaseUrl: db.url, db };
}

/**
 * Config for a real server (startServer) on the test engine: nothing for
 * SQLite (the data folder's file), OTA_DATABASE_URL of a fresh PostgreSQL
 * database under OTA_TEST_ENGINE=postgres (dropped after the file).
 */
export async function testDatabaseConfig(): Promise<{ databaseUrl?: string }> {
  if (process.env.OTA_TEST_ENGINE !== 'postgres') return {};
  const db = await createTestDatabase('postgres', { poolSize: 1, idleTimeoutMs: 1000 });
  release(undefined, db);
  return { databaseUrl: db.url };
}

/** A full app on a real database (see testEngine) with a temp data folder, one operator token per role. */
export async function makeApp(opts: { trust?: TrustFixture; config?: Partial<Config>; now?: Date; logger?: Logger } = {}): Promise<AppFixture> {
  const trust = opts.trust ?? makeTrust();
  const dataDir = tempDir('ota-data-');
  const { sql, databaseUrl, db } = await testEngine(dataDir);
  const config = loadConfig({}, { dataDir, trustDir: trust.dir, logLevel: 'silent', demo: false, databaseUrl, ...opts.config });
  const clock = { now: opts.now ?? new Date('2026-11-24T12:00:00Z') };
  const ctx = await createContext({ config, sql, trust: createTrustState(loadTrustFolder(trust.dir, clock.now)), logger: opts.logger ?? pino({ level: 'silent' }), now: () => clock.now });
  release(ctx, db);
  const tokens = {} as Record<OperatorRole, string>;
  for (const role of OPERATOR_ROLES) tokens[role] = (await ctx.operatorTokens.create(role, `test-${role}`, '2026-11-24T00:00:00Z')).token;
  return { ctx, app: createApp(ctx), trust, tokens, clock };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
