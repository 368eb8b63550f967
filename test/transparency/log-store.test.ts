import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../server/db/migrations/index.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';
import { publishRelease } from '../../server/releases/publish-service.js';
import { createLogStore } from '../../server/transparency/log-store.js';
import { consistencyProof, inclusionPath, leafHash, MemoryTree, rootAt } from '../../server/protocol/transparency/merkle.js';
import { allowInserts, refuseInserts } from '../helpers/db-state.js';
import { makeApp, releaseBody, signWith } from '../helpers/fixtures.js';

describe('transparency log store', () => {
  it('stores every subtree hash a memory tree computes, and the leaves that rebuild the same tree', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const sql = sqliteSql(db);
    const store = createLogStore(sql);
    const mem = new MemoryTree();
    const n = 3000;
    await sql.transaction(async () => {
      for (let i = 0; i < n; i++) {
        const leaf = leafHash(new TextEncoder().encode(`e${i}`));
        expect(await store.append(`"e${i}"`, leaf, '2026-11-24T12:00:00Z')).toBe(mem.append(leaf));
      }
    });
    expect(await store.size()).toBe(n);
    // Every complete subtree the append wrote is the memory tree's (what a node without the view would read).
    const nodes = await sql.all<{ level: number; idx: number; hash: Buffer }>('SELECT level, idx, hash FROM log_nodes');
    expect(nodes.length).toBe(2 * n - 1 - (n.toString(2).split('1').length - 2));
    for (const node of nodes) expect(new Uint8Array(node.hash)).toEqual(mem.subtree(node.level, node.idx));
    // The in-memory view (transparency-log.ts) is rebuilt from the stored leaves: same root and proofs.
    const rebuilt = new MemoryTree();
    for (const { idx, leaf } of await store.leavesFrom(0)) expect(rebuilt.append(leaf)).toBe(idx);
    expect(rootAt(rebuilt, n)).toEqual(mem.root());
    expect(inclusionPath(rebuilt, 1234, n)).toEqual(inclusionPath(mem, 1234, n));
    expect(inclusionPath(rebuilt, n - 1, n)).toEqual(inclusionPath(mem, n - 1, n));
    expect(consistencyProof(rebuilt, 1777, n)).toEqual(consistencyProof(mem, 1777, n));
    expect((await store.leavesFrom(n - 2)).map((r) => r.idx)).toEqual([n - 2, n - 1]);
  });

  it('a document and its log entry commit together or not at all', async () => {
    const f = await makeApp();
    const before = f.ctx.log.checkpoint();
    // A failure after the append, inside the same transaction (the audit record), rolls both back.
    await refuseInserts(f.ctx.sql, 'audit_log', 'disk full');
    await expect(publishRelease(signWith(releaseBody({ id: 'half' }), f.trust.releaseKeys), 'test', f.ctx)).rejects.toThrow(/disk full/);
    expect((await f.ctx.releases.get('half'))).toBeUndefined();
    expect(f.ctx.log.size()).toBe(before.size);
    expect(f.ctx.log.checkpoint().note).toBe(before.note);
    // A failing append leaves no release behind either.
    await allowInserts(f.ctx.sql, 'audit_log');
    await refuseInserts(f.ctx.sql, 'log_entries', 'log full');
    await expect(publishRelease(signWith(releaseBody({ id: 'half' }), f.trust.releaseKeys), 'test', f.ctx)).rejects.toThrow(/log full/);
    expect((await f.ctx.releases.get('half'))).toBeUndefined();
    await allowInserts(f.ctx.sql, 'log_entries');
    await publishRelease(signWith(releaseBody({ id: 'whole' }), f.trust.releaseKeys), 'test', f.ctx);
    expect(f.ctx.log.size()).toBe(before.size + 1);
  });

  it('logs the trust documents once: a restart on the same database appends nothing', async () => {
    const f = await makeApp();
    const size = f.ctx.log.size();
    const { createContext } = await import('../../server/context.js');
    const again = await createContext({ config: f.ctx.config, sql: f.ctx.sql, trust: f.ctx.trust, logger: f.ctx.logger });
    expect(again.log.size()).toBe(size);
    expect(again.log.checkpoint().note).toBe(f.ctx.log.checkpoint().note);
  });
});
