import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../server/db/migrations/index.js';
import { publishRelease } from '../../server/releases/publish-service.js';
import { createLogStore } from '../../server/transparency/log-store.js';
import { consistencyProof, inclusionPath, leafHash, MemoryTree, rootAt, type SubtreeSource } from '../../server/transparency/merkle.js';
import { makeApp, releaseBody, signWith } from '../helpers/fixtures.js';

describe('transparency log store', () => {
  it('stores the subtree hashes a memory tree computes, and answers root, inclusion and consistency in O(log n) reads', () => {
    const db = new Database(':memory:');
    migrate(db);
    const store = createLogStore(db);
    const mem = new MemoryTree();
    const n = 3000;
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const leaf = leafHash(new TextEncoder().encode(`e${i}`));
        expect(store.append(`"e${i}"`, leaf, '2026-11-24T12:00:00Z')).toBe(mem.append(leaf));
      }
    })();
    expect(store.size()).toBe(n);
    let reads = 0;
    const counted: SubtreeSource = { subtree: (l, i) => (reads++, store.source.subtree(l, i)) };
    const bound = 2 * Math.ceil(Math.log2(n)) + 2;
    for (const [what, run] of [
      ['root', () => expect(rootAt(counted, n)).toEqual(mem.root())],
      ['inclusion', () => expect(inclusionPath(counted, 1234, n)).toEqual(inclusionPath(mem, 1234, n))],
      ['inclusion of the last', () => expect(inclusionPath(counted, n - 1, n)).toEqual(inclusionPath(mem, n - 1, n))],
      ['consistency', () => expect(consistencyProof(counted, 1777, n)).toEqual(consistencyProof(mem, 1777, n))],
    ] as const) {
      reads = 0;
      run();
      expect(reads, what).toBeLessThanOrEqual(bound);
    }
  });

  it('a document and its log entry commit together or not at all', async () => {
    const f = await makeApp();
    const before = f.ctx.log.checkpoint();
    // A failure after the append, inside the same transaction (the audit record), rolls both back.
    f.ctx.db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
    expect(() => publishRelease(signWith(releaseBody({ id: 'half' }), f.trust.releaseKeys), 'test', f.ctx)).toThrow(/disk full/);
    expect(f.ctx.releases.get('half')).toBeUndefined();
    expect(f.ctx.log.size()).toBe(before.size);
    expect(f.ctx.log.checkpoint().note).toBe(before.note);
    // A failing append leaves no release behind either.
    f.ctx.db.exec("DROP TRIGGER refuse_audit; CREATE TRIGGER refuse_log BEFORE INSERT ON log_entries BEGIN SELECT RAISE(ABORT, 'log full'); END;");
    expect(() => publishRelease(signWith(releaseBody({ id: 'half' }), f.trust.releaseKeys), 'test', f.ctx)).toThrow(/log full/);
    expect(f.ctx.releases.get('half')).toBeUndefined();
    f.ctx.db.exec('DROP TRIGGER refuse_log');
    publishRelease(signWith(releaseBody({ id: 'whole' }), f.trust.releaseKeys), 'test', f.ctx);
    expect(f.ctx.log.size()).toBe(before.size + 1);
  });

  it('logs the trust documents once: a restart on the same database appends nothing', async () => {
    const f = await makeApp();
    const size = f.ctx.log.size();
    const { createContext } = await import('../../server/context.js');
    const again = createContext({ config: f.ctx.config, db: f.ctx.db, trust: f.ctx.trust, logger: f.ctx.logger });
    expect(again.log.size()).toBe(size);
    expect(again.log.checkpoint().note).toBe(f.ctx.log.checkpoint().note);
  });
});
