import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { numberPlaceholders, postgresSql, TransactionAbortedError } from '../../server/db/postgres-sql.js';
import { isUniqueViolation, together, type Engine, type Sql } from '../../server/db/sql.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The Sql contract (server/db/sql.ts, issue 10 design §1–2): every case runs
 * on both engines, written once in the dialect both accept.
 */
describe.each<{ engine: Engine }>([{ engine: 'sqlite' }, { engine: 'postgres' }])('Sql contract on $engine', ({ engine }) => {
  let db: TestDatabase;
  let sql: Sql;
  beforeEach(async () => {
    db = await createTestDatabase(engine);
    sql = db.sql;
    const text = engine === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
    const blob = engine === 'postgres' ? 'BYTEA' : 'BLOB';
    await sql.exec(`CREATE TABLE t (k ${text} PRIMARY KEY, v BIGINT NOT NULL); CREATE TABLE b (k ${text} PRIMARY KEY, data ${blob} NOT NULL)`);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('names its engine', () => {
    expect(sql.engine).toBe(engine);
  });

  it('reads, counts and writes with ? placeholders and quoted aliases', async () => {
    expect(await sql.run('INSERT INTO t (k, v) VALUES (?, ?), (?, ?)', ['a', 1, 'b', 2])).toBe(2);
    expect(await sql.all('SELECT k, v AS "theValue" FROM t ORDER BY k')).toEqual([
      { k: 'a', theValue: 1 },
      { k: 'b', theValue: 2 },
    ]);
    expect(await sql.one('SELECT v FROM t WHERE k = ?', ['b'])).toEqual({ v: 2 });
    expect(await sql.one('SELECT v FROM t WHERE k = ?', ['zz'])).toBeUndefined();
    expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(2);
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['zz'])).toBeUndefined();
    expect(await sql.run('UPDATE t SET v = v + ? WHERE k = ?', [10, 'zz'])).toBe(0);
  });

  it('returns big integers, counts and sums as numbers', async () => {
    const now = Date.now();
    await sql.run('INSERT INTO t (k, v) VALUES (?, ?), (?, ?), (?, ?)', ['now', now, 'big', 2 ** 40, 'max', Number.MAX_SAFE_INTEGER - 1]);
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['now'])).toBe(now);
    expect(await sql.one('SELECT v FROM t WHERE k = ?', ['big'])).toEqual({ v: 2 ** 40 });
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['max'])).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(await sql.value('SELECT COUNT(*) FROM t')).toBe(3);
    expect(await sql.value("SELECT SUM(v) FROM t WHERE k IN ('now', 'big')")).toBe(now + 2 ** 40);
    expect(await sql.one('SELECT COUNT(*) AS "n", SUM(v) AS "total" FROM t WHERE k = ?', ['big'])).toEqual({ n: 1, total: 2 ** 40 });
  });

  it('round-trips binary values as Buffers', async () => {
    const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await sql.run('INSERT INTO b (k, data) VALUES (?, ?)', ['all-bytes', data]);
    const row = await sql.one<{ data: Buffer }>('SELECT data FROM b WHERE data = ?', [data]);
    expect(Buffer.isBuffer(row?.data)).toBe(true);
    expect(row?.data.equals(data)).toBe(true);
  });

  it('reports a duplicate key as a unique violation', async () => {
    await sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
    const e = await sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 2]).catch((err: unknown) => err);
    expect(isUniqueViolation(e)).toBe(true);
    expect(isUniqueViolation(new Error('other'))).toBe(false);
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['a'])).toBe(1);
  });

  it('upserts with ON CONFLICT … excluded and returns rows with RETURNING', async () => {
    const upsert = 'INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = t.v + excluded.v RETURNING v AS "newValue"';
    expect(await sql.one(upsert, ['a', 5])).toEqual({ newValue: 5 });
    expect(await sql.one(upsert, ['a', 7])).toEqual({ newValue: 12 });
    expect(await sql.run('INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING', ['a', 100])).toBe(0);
    expect(await sql.all('DELETE FROM t WHERE k = ? RETURNING k, v', ['a'])).toEqual([{ k: 'a', v: 12 }]);
  });

  it('expands a JSON array parameter into rows (dialect.jsonTextElements), also under INSERT … ON CONFLICT', async () => {
    await sql.run('INSERT INTO t (k, v) VALUES (?, 1), (?, 2), (?, 3)', ['a', 'b', 'c']);
    const inList = `SELECT k FROM t WHERE k IN (SELECT value FROM ${sql.dialect.jsonTextElements}) ORDER BY k`;
    expect(await sql.all(inList, [JSON.stringify(['c', 'a', 'zz'])])).toEqual([{ k: 'a' }, { k: 'c' }]);
    const added = await sql.run(`INSERT INTO t (k, v) SELECT value, ? FROM ${sql.dialect.jsonTextElements} WHERE true ON CONFLICT DO NOTHING`, [9, JSON.stringify(['a', 'y', 'x'])]);
    expect(added).toBe(2);
    expect(await sql.all('SELECT k, v FROM t WHERE v = 9 ORDER BY k')).toEqual([{ k: 'x', v: 9 }, { k: 'y', v: 9 }]);
  });

  it('names an index to the planner that needs it (dialect.indexedBy), a statement both engines run', async () => {
    await sql.exec('CREATE INDEX t_by_v ON t (v, k)');
    await sql.run('INSERT INTO t (k, v) VALUES (?, 1), (?, 2)', ['a', 'b']);
    expect(await sql.all(`SELECT k FROM t ${sql.dialect.indexedBy('t_by_v')}WHERE v = ? ORDER BY k`, [2])).toEqual([{ k: 'b' }]);
  });

  it('takes a cluster lock inside a transaction and gives it up at commit (lockUntilCommit)', async () => {
    const key = 0x7e57_0001;
    await sql.transaction(async () => {
      await sql.lockUntilCommit(key);
      if (engine === 'postgres') expect(await sql.value("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")).toBe(1);
    });
    if (engine === 'postgres') expect(await sql.value("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ?", [key])).toBe(0);
  });

  it('takes a cluster lock as a transaction begins and holds it to the end (TransactionOptions.lock)', async () => {
    const key = 0x7e57_0002;
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = sql.transaction(async () => {
      if (engine === 'postgres') expect(await sql.value("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")).toBe(1);
      entered();
      await held;
      order.push('first');
    }, { lock: key });
    await inside;
    // PostgreSQL: another connection, so only the lock keeps it out; SQLite: one transaction at a time.
    const second = sql.transaction(async () => void order.push('second'), { lock: key });
    await new Promise((r) => setTimeout(r, 100));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    if (engine === 'postgres') {
      expect(await sql.value("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ?", [key])).toBe(0);
      // Only integer keys are spelled into the statement; anything else is refused before BEGIN is sent.
      await expect(sql.transaction(async () => 1, { lock: 1.5 })).rejects.toThrow(/integer/);
      expect(await sql.transaction(async () => sql.value<number>('SELECT 2'), { lock: key })).toBe(2);
    }
  });

  it('runs calls made together in a transaction in the order given; a failure among them ends them all and rolls back', async () => {
    const answers = await sql.transaction(() => together([
      sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]),
      // Sees the insert made before it: the order given is the order run.
      sql.value<number>('SELECT v FROM t WHERE k = ?', ['a']),
      sql.run('UPDATE t SET v = v + 1 WHERE k = ?', ['a']),
    ]));
    expect(answers).toEqual([1, 1, 1]);
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['a'])).toBe(2);

    const ended: string[] = [];
    const e = await sql.transaction(() => together([
      sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 1]).finally(() => ended.push('b')),
      sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 9]).finally(() => ended.push('duplicate a')),
      sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['c', 1]).finally(() => ended.push('c')),
    ])).catch((err: unknown) => err);
    // The first failure in the order given, thrown once every call has ended; nothing of the transaction stays.
    expect(isUniqueViolation(e)).toBe(true);
    expect([...ended].sort()).toEqual(['b', 'c', 'duplicate a']);
    expect(await sql.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 2 }]);
  });

  it('orders and compares ids bytewise', async () => {
    for (const k of ['a', 'é', 'B', 'z', 'Z', 'aa']) await sql.run('INSERT INTO t (k, v) VALUES (?, 0)', [k]);
    expect((await sql.all<{ k: string }>('SELECT k FROM t ORDER BY k')).map((r) => r.k)).toEqual(['B', 'Z', 'a', 'aa', 'z', 'é']);
    expect((await sql.all<{ k: string }>('SELECT k FROM t WHERE k > ? ORDER BY k', ['Z'])).map((r) => r.k)).toEqual(['a', 'aa', 'z', 'é']);
    expect(await sql.value('SELECT MAX(k) FROM t')).toBe('é');
  });

  it('keeps work from outside an open transaction out of it until it ends', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = sql
      .transaction(async () => {
        await sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
        inserted();
        await held;
        throw new Error('changed my mind');
      })
      .catch((e: Error) => e.message);
    await didInsert;
    // Started while the transaction is open: they must neither see nor join it (SQLite: they wait for
    // it to end; PostgreSQL: they run on another connection). One after the other: on PostgreSQL the
    // write may commit before the count runs.
    expect(sql.inTransaction()).toBe(false);
    const outside = sql.value<number>('SELECT COUNT(*) FROM t');
    release();
    expect(await outside).toBe(0);
    expect(await sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2])).toBe(1);
    expect(await tx).toBe('changed my mind');
    expect(await sql.all('SELECT k FROM t')).toEqual([{ k: 'b' }]);
  });

  it('commits what a transaction wrote, from any call made in its async context', async () => {
    const store = { put: (k: string) => sql.run('INSERT INTO t (k, v) VALUES (?, 1)', [k]) };
    const result = await sql.transaction(async () => {
      await store.put('a');
      await new Promise((r) => setTimeout(r, 1));
      await Promise.all([store.put('b'), store.put('c')]);
      return sql.value<number>('SELECT COUNT(*) FROM t');
    });
    expect(result).toBe(3);
    expect(await sql.value('SELECT COUNT(*) FROM t')).toBe(3);
  });

  it('rolls a failing savepoint back alone and commits the rest', async () => {
    const outcomes = await sql.transaction(async () => {
      const results: string[] = [];
      for (const k of ['a', 'a', 'c']) {
        try {
          await sql.transaction(async () => {
            await sql.run('INSERT INTO t (k, v) VALUES (?, 1)', [k]);
            await sql.run('UPDATE t SET v = v + 1 WHERE k = ?', [k]);
          });
          results.push('ok');
        } catch (e) {
          results.push(isUniqueViolation(e) ? 'duplicate' : 'other');
        }
      }
      // A savepoint whose work throws after writing: its writes go, the outer transaction stays usable.
      await sql
        .transaction(async () => {
          await sql.run('INSERT INTO t (k, v) VALUES (?, 1)', ['d']);
          throw new Error('undo d');
        })
        .catch(() => results.push('undone'));
      return results;
    });
    expect(outcomes).toEqual(['ok', 'duplicate', 'ok', 'undone']);
    expect(await sql.all('SELECT k, v FROM t ORDER BY k')).toEqual([
      { k: 'a', v: 2 },
      { k: 'c', v: 2 },
    ]);
  });

  it('knows whether the caller is inside a transaction, also for work that outlives it', async () => {
    let detached: Promise<boolean> | undefined;
    let detachedRead: Promise<number | undefined> | undefined;
    expect(sql.inTransaction()).toBe(false);
    await sql.transaction(async () => {
      expect(sql.inTransaction()).toBe(true);
      await sql.transaction(async () => expect(sql.inTransaction()).toBe(true));
      detached = new Promise((r) => setTimeout(() => r(sql.inTransaction()), 5));
      // Detached work that outlives the transaction uses the pool/connection afterwards.
      detachedRead = new Promise((r) => setTimeout(() => r(sql.value<number>('SELECT COUNT(*) FROM t')), 5));
    });
    expect(await detached).toBe(false);
    expect(await detachedRead).toBe(0);
    expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(0);
  });

  it('keeps counters exact under concurrent transactions', async () => {
    await sql.run("INSERT INTO t (k, v) VALUES ('n', 0)");
    const seen = await Promise.all(
      Array.from({ length: 20 }, () =>
        sql.transaction(async () => {
          const v = (await sql.value<number>("UPDATE t SET v = v + 1 WHERE k = 'n' RETURNING v")) as number;
          await new Promise((r) => setImmediate(r));
          // Its own write is visible to it.
          expect(await sql.value("SELECT v FROM t WHERE k = 'n'")).toBe(v);
          return v;
        }),
      ),
    );
    expect(await sql.value('SELECT v FROM t')).toBe(20);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('commits a non-durable transaction like any other', async () => {
    await sql.transaction(() => sql.run("INSERT INTO t (k, v) VALUES ('lazy', 1)"), { durable: false });
    expect(await sql.value("SELECT v FROM t WHERE k = 'lazy'")).toBe(1);
    // And the next transaction is durable again (the setting was local to that transaction).
    await sql.transaction(() => sql.run("INSERT INTO t (k, v) VALUES ('firm', 1)"));
    if (engine === 'postgres') expect(await sql.value('SHOW synchronous_commit')).toBe('on');
  });
});

describe('SQLite engine', () => {
  it('runs transactions from concurrent async contexts one at a time on its one connection', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const { sql } = db;
      await sql.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t (k, v) VALUES ('n', 0)");
      // Read, yield to the event loop, then write: interleaved on one connection this would lose updates.
      await Promise.all(Array.from({ length: 20 }, () => sql.transaction(async () => {
        const v = (await sql.value<number>("SELECT v FROM t WHERE k = 'n'")) as number;
        await new Promise((r) => setImmediate(r));
        await sql.run("UPDATE t SET v = ? WHERE k = 'n'", [v + 1]);
      })));
      expect(await sql.value('SELECT v FROM t')).toBe(20);
    } finally {
      await db.drop();
    }
  });
});

describe('PostgreSQL engine', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('keeps its connections in pipeline mode, so calls made together leave without waiting for answers', async () => {
    db = await createTestDatabase('postgres');
    const client = await (db.sql as ReturnType<typeof postgresSql>).pool.connect();
    try {
      expect(client.pipeline).toBe(true);
    } finally {
      client.release();
    }
  });

  it('rewrites ? to $n outside literals, quoted names and comments', () => {
    expect(numberPlaceholders(`SELECT '?', "a?b", ? -- what?\n, ?::json, 'it''s ?', ?`)).toBe(`SELECT '?', "a?b", $1 -- what?\n, $2::json, 'it''s ?', $3`);
  });

  it('rejects the work of a transaction whose connection is killed, and the pool recovers', async () => {
    const heard: Error[] = [];
    const { sql, url } = (db = await createTestDatabase('postgres', { onConnectionError: (e) => heard.push(e) }));
    await sql.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const killer = new pg.Client({ connectionString: url });
    await killer.connect();
    try {
      const tx = sql.transaction(async () => {
        await sql.run("INSERT INTO t (k) VALUES ('lost')");
        const pid = await sql.value<number>('SELECT pg_backend_pid()');
        await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        await sql.run("INSERT INTO t (k) VALUES ('after')");
      });
      await expect(tx).rejects.toThrow();
      expect(sql.inTransaction()).toBe(false);
      // Idle pooled connections killed too: the pool drops them and opens new ones.
      await Promise.all([sql.value('SELECT 1'), sql.value('SELECT 1')]);
      await killer.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
      // The pool hears of its idle connections' end (reported, not thrown) and drops them.
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      expect(await sql.value('SELECT 1')).toBe(1);
      expect(await sql.transaction(() => sql.value('SELECT COUNT(*) FROM t'))).toBe(0);
      expect(heard.length).toBeGreaterThan(0);
    } finally {
      await killer.end();
    }
  });

  it('answers a prepared statement again after another node changed its table (rolling upgrade)', async () => {
    const { sql, url } = (db = await createTestDatabase('postgres', { poolSize: 1 }));
    await sql.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    await sql.run("INSERT INTO t (k) VALUES ('a')");
    expect(await sql.all('SELECT * FROM t WHERE k = ?', ['a'])).toEqual([{ k: 'a' }]);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('ALTER TABLE t ADD COLUMN extra INTEGER NOT NULL DEFAULT 7');
    await other.end();
    expect(await sql.all('SELECT * FROM t WHERE k = ?', ['a'])).toEqual([{ k: 'a', extra: 7 }]);
    expect(await sql.all('SELECT * FROM t WHERE k = ?', ['a'])).toEqual([{ k: 'a', extra: 7 }]);
  });

  it('refuses to report a commit of a transaction that a caught statement error aborted', async () => {
    // SQLite keeps a transaction usable after a failed statement; PostgreSQL aborts it, and COMMIT
    // would silently roll back. Stores catch such errors only around a nested transaction (savepoint).
    const { sql } = (db = await createTestDatabase('postgres'));
    await sql.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const tx = sql.transaction(async () => {
      await sql.run("INSERT INTO t (k) VALUES ('a')");
      await sql.run("INSERT INTO t (k) VALUES ('a')").catch(() => undefined);
    });
    await expect(tx).rejects.toBeInstanceOf(TransactionAbortedError);
    expect(await sql.value('SELECT COUNT(*) FROM t')).toBe(0);
    // The connection went back to the pool healthy.
    await sql.transaction(() => sql.run("INSERT INTO t (k) VALUES ('b')"));
    expect(await sql.value('SELECT COUNT(*) FROM t')).toBe(1);
  });

  it('cancels a statement that runs past the statement timeout', async () => {
    const { sql } = (db = await createTestDatabase('postgres', { statementTimeoutMs: 100 }));
    await expect(sql.value('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    expect(await sql.value('SELECT 1')).toBe(1);
  });

  it('fails a call, not the process, when the server cannot be reached', async () => {
    const { url } = (db = await createTestDatabase('postgres'));
    const port = new URL(url).port;
    const unreachable = postgresSql({ url: url.replace(`:${port}/`, ':1/'), connectTimeoutMs: 1000 });
    try {
      await expect(unreachable.value('SELECT 1')).rejects.toThrow();
      await expect(unreachable.transaction(() => unreachable.value('SELECT 1'))).rejects.toThrow();
    } finally {
      await unreachable.close();
    }
  });
});
