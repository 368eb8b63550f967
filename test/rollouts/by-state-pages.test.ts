import { beforeAll, describe, expect, it } from 'vitest';
import type { Sql, SqlValue } from '../../server/db/sql.js';
import { makeApp, type AppFixture } from '../helpers/fixtures.js';

/**
 * A rollout's devices of one state, a page at a time (the status's silent
 * sample, GET /v1/rollouts/{id}/devices?state=), must walk the by-state
 * index on both engines. After a wave of reports the devices that reported
 * sit first in id order; a plan that walks the primary key and filters on
 * state reads all of them for a page of the silent rest (issue 20: status
 * p99 12-24 ms on PostgreSQL at 100 k devices, 0.5 ms through the index).
 */
const ROLLOUT = 'plan-check';
const DEVICES = 6000;
const REPORTED = 5000;
const idOf = (i: number): string => `plan-${String(i).padStart(6, '0')}`;

/** The statements `work` sends through `sql.all`, with their parameters. */
async function statementsOf(sql: Sql, work: () => Promise<unknown>): Promise<{ text: string; params: readonly SqlValue[] }[]> {
  const seen: { text: string; params: readonly SqlValue[] }[] = [];
  const original = sql.all.bind(sql);
  sql.all = (<T>(text: string, params: readonly SqlValue[] = []) => {
    seen.push({ text, params });
    return original<T>(text, params);
  }) as Sql['all'];
  try {
    await work();
  } finally {
    sql.all = original;
  }
  return seen;
}

/** The engine's plan of one statement, as text naming the indexes it uses and the filters it applies. */
async function planOf(sql: Sql, text: string, params: readonly SqlValue[]): Promise<string> {
  if (sql.engine === 'postgres') return JSON.stringify(await sql.all(`EXPLAIN (FORMAT JSON) ${text}`, params));
  return (await sql.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)).map((r) => r.detail).join('\n');
}

describe('pages of one state walk the by-state index (issue 20)', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await makeApp();
    const sql = f.ctx.sql;
    for (let start = 0; start < DEVICES; start += 500) {
      const rows = Array.from({ length: 500 }, (_, k) => start + k);
      await sql.run(`INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at, state, state_at) VALUES ${rows.map(() => '(?, ?, 0, 1, ?, ?)').join(', ')}`,
        rows.flatMap((i) => (i < REPORTED ? [ROLLOUT, idOf(i), 'applied', 2] : [ROLLOUT, idOf(i), null, null])));
    }
    // The statistics a busy server's autovacuum would have gathered by now.
    await sql.run('ANALYZE');
  });

  it('the silent sample and a page of one state read through rollout_devices_by_state, never the primary key filtered on state', async () => {
    const store = f.ctx.rolloutDevices;
    const statements = await statementsOf(f.ctx.sql, async () => {
      const silent = await store.listing(ROLLOUT, 'silent', '', 20);
      expect(silent.map((d) => d.deviceId)).toEqual(Array.from({ length: 20 }, (_, k) => idOf(REPORTED + k)));
      const applied = await store.listing(ROLLOUT, 'applied', idOf(100), 3);
      expect(applied.map((d) => d.deviceId)).toEqual([idOf(101), idOf(102), idOf(103)]);
      const page = await store.page(ROLLOUT, 'silent', idOf(REPORTED + 5), 2);
      expect(page.map((d) => d.deviceId)).toEqual([idOf(REPORTED + 6), idOf(REPORTED + 7)]);
    });
    const pages = statements.filter((s) => /FROM rollout_devices/.test(s.text));
    expect(pages).toHaveLength(3);
    for (const s of pages) {
      const plan = await planOf(f.ctx.sql, s.text, s.params);
      expect(plan, s.text).toContain('rollout_devices_by_state');
      expect(plan, s.text).not.toMatch(/rollout_devices_pkey/);
    }
  });
});
