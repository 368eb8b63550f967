import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';
import { connectDatabase } from '../../server/db/connect.js';
import { DatabaseUrlError, redactDatabaseUrl } from '../../server/db/database-url.js';
import { migrations } from '../../server/db/migrations/index.js';
import type { Sql } from '../../server/db/sql.js';
import { createEmptyPostgresDatabase, createTestDatabase, testDatabaseUrl, type TestDatabase } from '../helpers/database.js';
import { makeTrust } from '../helpers/fixtures.js';
import { startServer } from '../../server/serve.js';

describe('choosing the engine (protocol §9)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });
  const tempFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ota-connect-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'ota.db');
  };
  const keep = (sql: Sql) => (cleanups.push(() => sql.close()), sql);

  it('opens the SQLite file when there is no URL', async () => {
    for (const url of [undefined, '', '  ']) {
      const sql = keep(await connectDatabase({ url, file: tempFile() }));
      expect(sql.engine).toBe('sqlite');
      expect(await sql.value("SELECT COUNT(*) FROM sqlite_master WHERE name = 'devices'")).toBe(1);
    }
  });

  it('connects to PostgreSQL and migrates it for a postgres:// or postgresql:// URL', async () => {
    const db: TestDatabase = await createEmptyPostgresDatabase();
    cleanups.push(() => db.drop());
    for (const url of [db.url, db.url.replace(/^postgres:/, 'postgresql:')]) {
      const file = tempFile();
      const sql = keep(await connectDatabase({ url, file, poolSize: 2 }));
      expect(sql.engine).toBe('postgres');
      expect(await sql.value('SELECT MAX(version) FROM schema_migrations')).toBe(migrations.length);
    }
  });

  it('refuses another scheme without repeating the URL', async () => {
    const e = await connectDatabase({ url: 'mysql://root:hunter2@127.0.0.1/ota', file: tempFile() }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DatabaseUrlError);
    expect((e as Error).message).toMatch(/postgres:\/\/ or postgresql:\/\//);
    expect((e as Error).message).not.toContain('hunter2');
    await expect(connectDatabase({ url: 'not a url', file: tempFile() })).rejects.toBeInstanceOf(DatabaseUrlError);
  });

  it('fails, without leaving a pool behind, when PostgreSQL cannot be reached', async () => {
    await expect(connectDatabase({ url: 'postgres://nobody@127.0.0.1:1/none', file: tempFile(), connectTimeoutMs: 500 })).rejects.toThrow();
  });

  it('reads OTA_DATABASE_URL and the pool settings into the config, and reports a bad one without the password', () => {
    const config = loadConfig({ OTA_DATABASE_URL: 'postgres://ota:s3cret@db:5432/ota', OTA_DATABASE_POOL_SIZE: '25', OTA_DATABASE_STATEMENT_TIMEOUT_MS: '5000' });
    expect(config.databaseUrl).toBe('postgres://ota:s3cret@db:5432/ota');
    expect(config.databasePoolSize).toBe(25);
    expect(config.databaseStatementTimeoutMs).toBe(5000);
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ OTA_DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    let problem: unknown;
    try {
      loadConfig({ OTA_DATABASE_URL: 'mysql://ota:s3cret@db/ota', OTA_DATABASE_POOL_SIZE: '0' });
    } catch (e) {
      problem = e;
    }
    expect(problem).toBeInstanceOf(ConfigError);
    expect((problem as ConfigError).problems).toHaveLength(2);
    expect((problem as Error).message).toContain('OTA_DATABASE_URL must be a postgres://');
    expect((problem as Error).message).not.toContain('s3cret');
    expect(redactDatabaseUrl('postgres://ota:s3cret@db:5432/ota')).toBe('postgres://ota:***@db:5432/ota');
    expect(redactDatabaseUrl('postgres://db/ota')).toBe('postgres://db/ota');
  });

  it('says how to get a PostgreSQL for the tests when none is configured', () => {
    const saved = process.env.OTA_TEST_DATABASE_URL;
    delete process.env.OTA_TEST_DATABASE_URL;
    try {
      expect(() => testDatabaseUrl()).toThrow(/apt-get install -y postgresql.*OTA_TEST_DATABASE_URL=postgres:/s);
    } finally {
      process.env.OTA_TEST_DATABASE_URL = saved;
    }
    expect(testDatabaseUrl()).toMatch(/^postgres:\/\//);
  });

  it('starts the server on OTA_DATABASE_URL, showing the URL only with its password hidden', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(() => db.drop());
    const secret = 'not-for-logs-42';
    const u = new URL(db.url);
    u.password = secret; // the throwaway cluster trusts 127.0.0.1: any password is accepted
    const lines: string[] = [];
    const dataDir = mkdtempSync(join(tmpdir(), 'ota-connect-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // The banner and the 'server listening' log line show the same redacted form (serve.ts).
    const running = await startServer(loadConfig({}, { dataDir, trustDir: makeTrust().dir, databaseUrl: u.toString(), port: 0, demo: false, logLevel: 'silent' }), (l) => lines.push(l));
    try {
      expect(running.ctx.sql.engine).toBe('postgres');
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await running.close();
    }
    const said = lines.join('\n');
    expect(said).toContain(redactDatabaseUrl(u.toString()));
    expect(said).toContain(':***@');
    expect(said).not.toContain(secret);
  });
});
