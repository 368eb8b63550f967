import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGroupCommit, type BatchWriter } from '../../server/db/group-commit.js';
import { AppError } from '../../server/errors.js';
import { openSqlite } from '../../server/db/open.js';
import { tempDir } from '../helpers/fixtures.js';

const tick = () => new Promise((r) => setImmediate(r));

async function table() {
  const sql = openSqlite(join(tempDir(), 'gc.db'));
  await sql.exec('CREATE TABLE t (v TEXT NOT NULL)');
  return sql;
}

describe('group commit on the async Sql interface', () => {
  it('one transaction per group; jobs arriving while a group commits form the next group, started when it ends', async () => {
    const sql = await table();
    const groups: number[] = [];
    const commits = createGroupCommit(sql, { committed: (_s, jobs) => groups.push(jobs) });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const first = [
      commits.run(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['a']);
        order.push('a');
        await held; // the group's transaction stays open (as a slow commit would)
      }),
      commits.run(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['b']);
        order.push('b');
      }),
    ];
    await tick();
    await tick();
    // Submitted while the first group is still open: they wait for the next one.
    const second = [commits.run(() => sql.run('INSERT INTO t (v) VALUES (?)', ['c'])), commits.run(() => sql.run('INSERT INTO t (v) VALUES (?)', ['d']))];
    await tick();
    expect(groups).toEqual([]);
    expect(order).toEqual(['a']);
    release();
    await Promise.all([...first, ...second]);
    expect(groups).toEqual([2, 2]);
    expect(order).toEqual(['a', 'b']);
    expect((await sql.all<{ v: string }>('SELECT v FROM t ORDER BY rowid')).map((r) => r.v)).toEqual(['a', 'b', 'c', 'd']);
    await sql.close();
  });

  it('promises settle only after COMMIT: a job sees its own write, a reader outside the group only the committed row', async () => {
    const sql = await table();
    const commits = createGroupCommit(sql);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let settled = false;
    const done = commits.run(async () => {
      await sql.run('INSERT INTO t (v) VALUES (?)', ['x']);
      expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(1);
      await held;
      return 'stored';
    }).then((v) => ((settled = true), v));
    await tick();
    await tick();
    // Outside the group's async context: this read waits for the transaction to end (SQLite engine).
    let outside: number | undefined;
    const read = sql.value<number>('SELECT COUNT(*) FROM t').then((n) => (outside = n));
    await tick();
    expect(outside).toBeUndefined();
    expect(settled).toBe(false);
    release();
    expect(await done).toBe('stored');
    await read;
    expect(outside).toBe(1);
    await sql.close();
  });

  it('a failure of the whole transaction answers every job of the group 503 and reports the group', async () => {
    const sql = await table();
    const failed: number[] = [];
    const commits = createGroupCommit(sql, { onGroupError: (_e, n) => failed.push(n) });
    // A job that ends the transaction under the group (a bug, or a lost connection) makes its COMMIT fail.
    const outcomes = await Promise.allSettled([
      commits.run(() => sql.run('INSERT INTO t (v) VALUES (?)', ['a'])),
      commits.run(async () => {
        await sql.exec('ROLLBACK');
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'unavailable' });
    expect(failed).toEqual([2]);
    expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(0);
    await sql.close();
  });

  describe('set-based writers (runBatched)', () => {
    /** Inserts each item's value; "bad" is refused before writing, "boom" makes the engine fail (a NOT NULL column). */
    const writerOn = (sql: Awaited<ReturnType<typeof table>>, calls: string[]): BatchWriter<string, string> => {
      const writer: BatchWriter<string, string> = {
        async many(items) {
          calls.push(`many(${items.join(',')})`);
          const kept = items.filter((v) => v !== 'bad');
          for (const v of kept) await sql.run('INSERT INTO t (v) VALUES (?)', [v === 'boom' ? null : v]);
          return items.map((v) => (v === 'bad' ? { ok: false, error: new AppError('conflict', 'refused') } : { ok: true, value: v }));
        },
        async one(item) {
          calls.push(`one(${item})`);
          const [o] = await writer.many([item]);
          if (!o?.ok) throw o?.error;
          return o.value;
        },
      };
      return writer;
    };

    it('consecutive requests of a writer are written by one call, in order with plain jobs; a refusal costs its own answer only', async () => {
      const sql = await table();
      const calls: string[] = [];
      const commits = createGroupCommit(sql);
      const writer = writerOn(sql, calls);
      const outcomes = await Promise.allSettled([
        commits.runBatched(writer, 'a'),
        commits.runBatched(writer, 'bad'),
        commits.runBatched(writer, 'b'),
        commits.run(() => sql.run('INSERT INTO t (v) VALUES (?)', ['plain'])),
        commits.runBatched(writer, 'c'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(calls).toEqual(['many(a,bad,b)', 'many(c)']);
      expect((await sql.all<{ v: string }>('SELECT v FROM t ORDER BY rowid')).map((r) => r.v)).toEqual(['a', 'b', 'plain', 'c']);
      await sql.close();
    });

    it('an engine failure inside a set-based write rolls the group back and writes it again, each request in its own savepoint', async () => {
      const sql = await table();
      const calls: string[] = [];
      const retried: unknown[] = [];
      const commits = createGroupCommit(sql, { retried: (e) => retried.push(e) });
      const writer = writerOn(sql, calls);
      const outcomes = await Promise.allSettled([
        commits.runBatched(writer, 'a'),
        commits.runBatched(writer, 'boom'),
        commits.run(() => sql.run('INSERT INTO t (v) VALUES (?)', ['plain'])),
        commits.runBatched(writer, 'b'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(retried).toHaveLength(1);
      expect(calls).toEqual(['many(a,boom)', 'one(a)', 'many(a)', 'one(boom)', 'many(boom)', 'one(b)', 'many(b)']);
      // Written once each: the failed first attempt left nothing.
      expect((await sql.all<{ v: string }>('SELECT v FROM t ORDER BY rowid')).map((r) => r.v)).toEqual(['a', 'plain', 'b']);
      await sql.close();
    });
  });
});
