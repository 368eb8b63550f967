import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { Sql, SqlValue } from '../../server/db/sql.js';

/** The PostgreSQL every cluster test runs on; missing is a failure, never a skip (design §4). */
export function testDatabaseUrl(): string {
  const url = process.env.OTA_TEST_DATABASE_URL;
  if (!url) throw new Error('OTA_TEST_DATABASE_URL is not set: the cluster tests need a PostgreSQL (start one with scripts/postgres.sh start DIR)');
  return url;
}

/** A fresh database on the test server, so files running in parallel never share `changes` or locks' data. */
export async function freshDatabase(prefix: string): Promise<string> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

pg.types.setTypeParser(20, Number);

/**
 * A minimal Sql over a pg Pool for these tests (transactions through
 * AsyncLocalStorage, `?` placeholders), the contract server/db/sql.ts states.
 */
export function poolSql(url: string): Sql & { pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  const tx = new AsyncLocalStorage<{ client: pg.PoolClient; depth: number }>();
  const text = (t: string) => {
    let n = 0;
    return t.replace(/\?/g, () => `$${++n}`);
  };
  const query = async (t: string, p: readonly SqlValue[] = []) => (tx.getStore()?.client ?? pool).query(text(t), p as unknown[]);
  const sql: Sql & { pool: pg.Pool } = {
    pool,
    engine: 'postgres',
    all: async <T>(t: string, p?: readonly SqlValue[]) => (await query(t, p)).rows as T[],
    one: async <T>(t: string, p?: readonly SqlValue[]) => (await query(t, p)).rows[0] as T | undefined,
    value: async <T>(t: string, p?: readonly SqlValue[]) => {
      const r = await query(t, p);
      const row = r.rows[0] as Record<string, unknown> | undefined;
      return (row ? row[r.fields[0]?.name as string] : undefined) as T | undefined;
    },
    run: async (t, p) => (await query(t, p)).rowCount ?? 0,
    async transaction(work) {
      const frame = tx.getStore();
      if (frame) {
        const name = `sp${++frame.depth}`;
        await frame.client.query(`SAVEPOINT ${name}`);
        try {
          const r = await work();
          await frame.client.query(`RELEASE ${name}`);
          return r;
        } catch (e) {
          await frame.client.query(`ROLLBACK TO ${name}`);
          throw e;
        } finally {
          frame.depth--;
        }
      }
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await tx.run({ client, depth: 0 }, work);
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    inTransaction: () => tx.getStore() !== undefined,
    exec: async (t) => void (await pool.query(t)),
    close: () => pool.end(),
  };
  return sql;
}
