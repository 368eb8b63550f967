import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createInProcessChangeFeed, type Change } from '../../server/cluster/change-feed.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';

const fresh = async () => {
  const sql = sqliteSql(new Database(':memory:'));
  await sql.exec('CREATE TABLE rollouts (id TEXT PRIMARY KEY)');
  const errors: unknown[] = [];
  const feed = createInProcessChangeFeed(sql, { onError: (e) => void errors.push(e) });
  const seen: Change[] = [];
  feed.subscribe((c) => void seen.push(c));
  await feed.start();
  return { sql, feed, seen, errors };
};

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('in-process change feed (SQLite)', () => {
  it('delivers a change made in a transaction only after it commits', async () => {
    const { sql, feed, seen } = await fresh();
    let seenInside = -1;
    await sql.transaction(async () => {
      await sql.run("INSERT INTO rollouts VALUES ('r1')");
      await feed.publish('rollout', 'r1');
      await settle();
      seenInside = seen.length;
    });
    expect(seenInside).toBe(0);
    await settle();
    expect(seen.map((c) => [c.topic, c.key])).toEqual([['rollout', 'r1']]);
  });

  it('never delivers a rolled-back change, nor one of a rolled-back savepoint', async () => {
    const { sql, feed, seen } = await fresh();
    await expect(
      sql.transaction(async () => {
        await feed.publish('rollout', 'gone');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await sql.transaction(async () => {
      await feed.publish('rollout', 'kept');
      await sql.transaction(async () => {
        await feed.publish('rollout', 'savepoint-gone');
        throw new Error('savepoint rolled back');
      }).catch(() => {});
    });
    await settle();
    expect(seen.map((c) => c.key)).toEqual(['kept']);
  });

  it('delivers outside a transaction before publish resolves, in order, each once', async () => {
    const { feed, seen } = await fresh();
    await feed.publish('device', 'd1');
    expect(seen.map((c) => c.key)).toEqual(['d1']);
    await Promise.all([feed.publish('device', 'd2'), feed.publish('cohort', null), feed.publish('device', 'd3')]);
    await settle();
    expect(seen.map((c) => c.key)).toEqual(['d1', 'd2', null, 'd3']);
    const seqs = seen.map((c) => c.seq);
    expect(new Set(seqs).size).toBe(4);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('reports a failing subscriber and still delivers to the others', async () => {
    const { feed, seen, errors } = await fresh();
    feed.subscribe(() => {
      throw new Error('view refresh failed');
    });
    await feed.publish('rollout', 'r9');
    expect(seen.map((c) => c.key)).toEqual(['r9']);
    expect(errors).toHaveLength(1);
  });

  it('refuses a malformed topic or key (a programming error) without recording it', async () => {
    const { feed, seen } = await fresh();
    await expect(feed.publish('Rollout Changed')).rejects.toThrow(/topic/);
    await expect(feed.publish('rollout', '')).rejects.toThrow(/key/);
    await expect(feed.publish('rollout', 'x'.repeat(513))).rejects.toThrow(/key/);
    expect(seen).toEqual([]);
    expect(await feed.prune(60)).toBe(0);
  });
});
