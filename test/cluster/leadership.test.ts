import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLeadership, type Leadership } from '../../server/cluster/leadership.js';
import { until } from '../helpers/waiting.js';
import { createEmptyPostgresDatabase, type TestDatabase } from '../helpers/database.js';

const INTERVAL = 500;
let db: TestDatabase;
let url: string;
const started: Leadership[] = [];

beforeAll(async () => {
  db = await createEmptyPostgresDatabase();
  url = db.url;
});
afterAll(async () => {
  await db?.drop();
});
afterEach(async () => {
  for (const l of started.splice(0)) await l.stop();
});

async function contender(name: string): Promise<{ leadership: Leadership; changes: boolean[] }> {
  const changes: boolean[] = [];
  const leadership = createLeadership({ sql: db.sql, databaseUrl: url, intervalMs: INTERVAL, name, onChange: (v) => void changes.push(v) });
  started.push(leadership);
  await leadership.start();
  return { leadership, changes };
}

async function sessionPid(name: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [`ota-leader:${name}`]);
    return r.rows[0]?.pid as number;
  } finally {
    await c.end();
  }
}

async function terminate(pid: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('SELECT pg_terminate_backend($1)', [pid]);
  await c.end();
}

describe('leadership on PostgreSQL', () => {
  it('makes exactly one of two contenders leader, and runs jobs there only', async () => {
    const a = await contender('a1');
    const b = await contender('b1');
    await new Promise((r) => setTimeout(r, 2 * INTERVAL));
    expect([a.leadership.isLeader(), b.leadership.isLeader()]).toEqual([true, false]);
    expect(await a.leadership.runIfLeader(() => 'ran')).toBe('ran');
    let ranOnB = false;
    expect(await b.leadership.runIfLeader(() => (ranOnB = true))).toBeUndefined();
    expect(ranOnB).toBe(false);
    expect(b.changes).toEqual([]);
  });

  it('moves to the other node within two intervals when the leader’s session dies', async () => {
    const a = await contender('a2');
    const b = await contender('b2');
    expect(a.leadership.isLeader()).toBe(true);
    await terminate(await sessionPid('a2'));
    const waited = await until(() => b.leadership.isLeader(), 2 * INTERVAL + 200);
    expect(waited).toBeLessThanOrEqual(2 * INTERVAL + 200);
    // A noticed and stepped down (and, reconnected, stays a follower while B leads).
    await until(() => !a.leadership.isLeader(), 500);
    expect(a.changes).toEqual([true, false]);
    await new Promise((r) => setTimeout(r, 2 * INTERVAL));
    expect([a.leadership.isLeader(), b.leadership.isLeader()]).toEqual([false, true]);
    expect(await a.leadership.runIfLeader(() => 'ran')).toBeUndefined();
  });

  it('releases at once on stop: the other takes over at its next try', async () => {
    const a = await contender('a3');
    const b = await contender('b3');
    await a.leadership.stop();
    expect(a.leadership.isLeader()).toBe(false);
    expect(a.changes).toEqual([true, false]);
    expect(await until(() => b.leadership.isLeader(), INTERVAL + 200)).toBeLessThanOrEqual(INTERVAL + 200);
  });

  it('needs the database URL for its session on PostgreSQL', () => {
    expect(() => createLeadership({ sql: db.sql, intervalMs: INTERVAL })).toThrow(/database URL/);
  });

  it('on SQLite the single process always leads, whatever URL it is given', async () => {
    const changes: boolean[] = [];
    const only = createLeadership({ sql: { engine: 'sqlite' }, databaseUrl: url, intervalMs: INTERVAL, onChange: (v) => void changes.push(v) });
    expect(only.isLeader()).toBe(false);
    await only.start();
    expect(only.isLeader()).toBe(true);
    expect(await only.runIfLeader(async () => 42)).toBe(42);
    await only.stop();
    expect(changes).toEqual([true, false]);
  });
});
