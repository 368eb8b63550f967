import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createLeadership, type Leadership } from '../../server/cluster/leadership.js';
import { until } from '../helpers/waiting.js';
import { createEmptyPostgresDatabase, type TestDatabase } from '../helpers/database.js';

/** Short, so that a handover is quick; tests wait up to GENEROUS for it (CI is a busy shared machine: never a clock bound). */
const INTERVAL = 100;
const GENEROUS = 15_000;
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
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [`ota-leader:${name}`]);
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

  it('checks its session with one query at a time, however many jobs ask at once', async () => {
    const a = await contender('q1');
    await until(() => a.leadership.isLeader(), GENEROUS);
    type Query = (this: pg.Client, ...args: unknown[]) => unknown;
    const proto = pg.Client.prototype as unknown as { query: Query };
    const original = proto.query;
    let inFlight = 0;
    let most = 0;
    proto.query = function (this: pg.Client, ...args: unknown[]) {
      const mine = (this as unknown as { connectionParameters?: { application_name?: string } }).connectionParameters?.application_name === 'ota-leader:q1';
      const result = original.apply(this, args);
      if (mine && result instanceof Promise) {
        most = Math.max(most, ++inFlight);
        void result.finally(() => inFlight--).catch(() => {});
      }
      return result;
    };
    try {
      const ran = await Promise.all(Array.from({ length: 20 }, (_, i) => a.leadership.runIfLeader(() => i)));
      expect(ran).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      proto.query = original;
    }
    expect(most).toBe(1);
  });

  it('when the leader’s session dies it steps down at once, and exactly one contender leads again', async () => {
    const a = await contender('a2');
    const b = await contender('b2');
    expect(a.leadership.isLeader()).toBe(true);
    await terminate(await sessionPid('a2'));
    // A noticed and stepped down...
    await until(() => a.changes.includes(false), GENEROUS);
    expect(a.changes.slice(0, 2)).toEqual([true, false]);
    // ...and the lock, freed with the session, is taken again: by B, or by A's new session if it
    // asked first (a live process may lead again; a dead one cannot — two-nodes.test.ts SIGKILLs one).
    await until(() => a.leadership.isLeader() !== b.leadership.isLeader(), GENEROUS);
    await new Promise((r) => setTimeout(r, 2 * INTERVAL));
    const leaders = [a, b].filter((c) => c.leadership.isLeader());
    expect(leaders).toHaveLength(1);
    const [leader, follower] = leaders[0] === a ? [a, b] : [b, a];
    expect(await leader.leadership.runIfLeader(() => 'ran')).toBe('ran');
    expect(await follower.leadership.runIfLeader(() => 'ran')).toBeUndefined();
  });

  it('releases at once on stop: the other takes over at its next try', async () => {
    const a = await contender('a3');
    const b = await contender('b3');
    await a.leadership.stop();
    expect(a.leadership.isLeader()).toBe(false);
    expect(a.changes).toEqual([true, false]);
    await until(() => b.leadership.isLeader(), GENEROUS);
    expect(b.changes).toEqual([true]);
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
