import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../server/db/open.js';
import { migratePostgres } from '../../server/db/postgres/migrate.js';
import { migrations } from '../../server/db/migrations/index.js';
import { postgresSql, type PostgresOptions } from '../../server/db/postgres-sql.js';
import type { Engine, Sql } from '../../server/db/sql.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';

export interface TestDatabase {
  /** postgres://… of the fresh database, or the SQLite file's path. */
  url: string;
  sql: Sql;
  /** Closes `sql` and deletes the database. */
  drop(): Promise<void>;
}

/**
 * The PostgreSQL every PostgreSQL test uses: test/global-setup.ts starts one
 * (or CI's .ci/run does) and puts its URL in OTA_TEST_DATABASE_URL.
 */
export function testDatabaseUrl(): string {
  const url = process.env.OTA_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'OTA_TEST_DATABASE_URL is not set and no PostgreSQL could be started for the tests: install PostgreSQL 15 or newer ' +
        '(Debian: apt-get install -y postgresql) so test/global-setup.ts can start a throwaway one, or set ' +
        'OTA_TEST_DATABASE_URL=postgres://user@127.0.0.1:5432/postgres to a server where that user may create databases.',
    );
  }
  return url;
}

const withDatabase = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

let admin: pg.Pool | undefined;
const adminPool = (): pg.Pool => {
  if (!admin) {
    admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
    admin.on('error', () => {});
  }
  return admin;
};

/** The migrated template: named after the migrations' text, so a changed migration makes a new one. */
const templateName = `ota_template_${createHash('sha256')
  .update(migrations.map((m) => `${m.version}\n${m.name}\n${m.postgres}`).join('\n'))
  .digest('hex')
  .slice(0, 16)}`;
let templateReady: Promise<void> | undefined;

/**
 * Migrates the template once per server (every test worker may ask at once:
 * an advisory lock lets one build it, the others find it ready). Ready means
 * marked as a template, which happens only after its migrations committed.
 */
const ensureTemplate = (): Promise<void> => {
  templateReady ??= (async () => {
    const client = await adminPool().connect();
    try {
      await client.query('SELECT pg_advisory_lock(7301000002)');
      const found = await client.query<{ datistemplate: boolean }>('SELECT datistemplate FROM pg_database WHERE datname = $1', [templateName]);
      if (found.rows[0]?.datistemplate) return;
      if (found.rows.length) await client.query(`DROP DATABASE "${templateName}" WITH (FORCE)`);
      await client.query(`CREATE DATABASE "${templateName}"`);
      const sql = postgresSql({ url: withDatabase(testDatabaseUrl(), templateName), poolSize: 1 });
      try {
        await migratePostgres(sql);
      } finally {
        await sql.close();
      }
      await client.query(`ALTER DATABASE "${templateName}" IS_TEMPLATE true`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(7301000002)').catch(() => {});
      client.release();
    }
  })();
  return templateReady;
};

/**
 * A fresh, migrated database for one test: PostgreSQL (default; a copy of
 * the migrated template, ota_test_<random>) or SQLite (a temporary file
 * opened the way the server opens it).
 */
export async function createTestDatabase(engine: Engine = 'postgres', options: Omit<PostgresOptions, 'url'> = {}): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ota-sql-'));
    const file = join(dir, 'ota.db');
    const sql = sqliteSql(openDatabase(file));
    return {
      url: file,
      sql,
      async drop() {
        await sql.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  return createPostgresDatabase(true, options);
}

/** A PostgreSQL database without any table (migration tests). */
export function createEmptyPostgresDatabase(options: Omit<PostgresOptions, 'url'> = {}): Promise<TestDatabase> {
  return createPostgresDatabase(false, options);
}

async function createPostgresDatabase(migrated: boolean, options: Omit<PostgresOptions, 'url'>): Promise<TestDatabase> {
  if (migrated) await ensureTemplate();
  const name = `ota_test_${randomBytes(6).toString('hex')}`;
  await adminPool().query(`CREATE DATABASE "${name}"${migrated ? ` TEMPLATE "${templateName}"` : ''}`);
  const url = withDatabase(testDatabaseUrl(), name);
  const sql = postgresSql({ url, poolSize: 4, ...options });
  return {
    url,
    sql,
    async drop() {
      await sql.close();
      await adminPool().query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
