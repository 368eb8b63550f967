import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../server/db/sql.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';

const fresh = async () => {
  const sql = sqliteSql(new Database(':memory:'));
  await sql.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return sql;
};

describe('SQLite behind the async Sql interface', () => {
  it('reads, counts and writes with ? placeholders and quoted aliases', async () => {
    const sql = await fresh();
    expect(await sql.run('INSERT INTO t (k, v) VALUES (?, ?), (?, ?)', ['a', 1, 'b', 2])).toBe(2);
    expect(await sql.all('SELECT k, v AS "theValue" FROM t ORDER BY k')).toEqual([{ k: 'a', theValue: 1 }, { k: 'b', theValue: 2 }]);
    expect(await sql.one('SELECT v FROM t WHERE k = ?', ['b'])).toEqual({ v: 2 });
    expect(await sql.one('SELECT v FROM t WHERE k = ?', ['zz'])).toBeUndefined();
    expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(2);
    expect(await sql.value('SELECT v FROM t WHERE k = ?', ['zz'])).toBeUndefined();
  });

  it('keeps work from outside an open transaction out of it until it ends', async () => {
    const sql = await fresh();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = sql.transaction(async () => {
      await sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
      await held;
      throw new Error('changed my mind');
    });
    // Started while the transaction is open: it must neither see nor join it.
    const outside = sql.value<number>('SELECT COUNT(*) FROM t');
    const write = sql.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]);
    release();
    await expect(tx).rejects.toThrow('changed my mind');
    expect(await outside).toBe(0);
    expect(await write).toBe(1);
    expect(await sql.all('SELECT k FROM t')).toEqual([{ k: 'b' }]);
  });

  it('rolls a failing savepoint back alone and commits the rest', async () => {
    const sql = await fresh();
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
      return results;
    });
    expect(outcomes).toEqual(['ok', 'duplicate', 'ok']);
    expect(await sql.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 2 }, { k: 'c', v: 2 }]);
  });

  it('knows whether the caller is inside a transaction, also for work that outlives it', async () => {
    const sql = await fresh();
    let detached: Promise<boolean> | undefined;
    expect(sql.inTransaction()).toBe(false);
    await sql.transaction(async () => {
      expect(sql.inTransaction()).toBe(true);
      detached = new Promise((r) => setTimeout(() => r(sql.inTransaction()), 5));
    });
    expect(await detached).toBe(false);
    // And that detached work can still use the connection afterwards.
    expect(await sql.value<number>('SELECT COUNT(*) FROM t')).toBe(0);
  });

  it('serialises transactions from concurrent contexts', async () => {
    const sql = await fresh();
    await sql.run("INSERT INTO t (k, v) VALUES ('n', 0)");
    await Promise.all(
      Array.from({ length: 20 }, () =>
        sql.transaction(async () => {
          const v = (await sql.value<number>("SELECT v FROM t WHERE k = 'n'")) as number;
          await new Promise((r) => setImmediate(r));
          await sql.run("UPDATE t SET v = ? WHERE k = 'n'", [v + 1]);
        }),
      ),
    );
    expect(await sql.value('SELECT v FROM t')).toBe(20);
  });
});
