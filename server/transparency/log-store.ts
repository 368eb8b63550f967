import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { Sql } from '../db/sql.js';
import { nodeHash } from '../protocol/transparency/merkle.js';

export type LogStore = ReturnType<typeof createLogStore>;

/**
 * SQL of the transparency log (protocol §8). `append` must run inside the
 * caller's transaction, the one that stores the document: a crash never
 * leaves a stored document unlogged or a logged one unstored.
 */
export function createLogStore(sql: Sql) {
  const size = async (): Promise<number> => (await sql.value<number>('SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM log_entries')) ?? 0;
  const insertNode = (level: number, idx: number, hash: Uint8Array): Promise<number> =>
    sql.run('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)', [level, idx, Buffer.from(hash)]);

  const subtree = async (level: number, index: number): Promise<Uint8Array> => {
    const hash = await sql.value<Buffer>('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?', [level, index]);
    if (!hash) throw new Error(`transparency log: subtree (${level}, ${index}) is missing`);
    return new Uint8Array(hash);
  };

  return {
    size,
    indexOfLeaf: (leaf: Uint8Array): Promise<number | undefined> => sql.value<number>('SELECT idx FROM log_entries WHERE leaf_hash = ?', [Buffer.from(leaf)]),
    /** Leaf hashes from index `start` on, in order (the log's in-memory view reads only what it lacks). */
    leavesFrom: async (start: number): Promise<{ idx: number; leaf: Uint8Array }[]> =>
      (await sql.all<{ idx: number; leaf: Buffer }>('SELECT idx, leaf_hash AS leaf FROM log_entries WHERE idx >= ? ORDER BY idx', [start]))
        .map((r) => ({ idx: r.idx, leaf: new Uint8Array(r.leaf) })),
    /** Keeps a witness's cosignature on the checkpoint of `size` (the newest per witness wins). */
    async saveCosignature(size: number, witness: string, time: number, line: string): Promise<void> {
      await sql.run(`INSERT INTO log_cosignatures (size, witness, time, line) VALUES (?, ?, ?, ?)
        ON CONFLICT (size, witness) DO UPDATE SET time = excluded.time, line = excluded.line WHERE excluded.time > log_cosignatures.time`,
      [size, witness, time, line]);
    },
    /** Cosignature lines on the checkpoint of `size`, by witness name. */
    cosignatures: async (size: number): Promise<string[]> =>
      (await sql.all<{ line: string }>('SELECT line FROM log_cosignatures WHERE size = ? ORDER BY witness', [size])).map((r) => r.line),
    /** Entry texts for start ≤ i < end. */
    entries: async (start: number, end: number): Promise<string[]> =>
      (await sql.all<{ entry: string }>('SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx', [start, end])).map((r) => r.entry),
    /**
     * Appends one leaf and every subtree it completes: amortised O(1)
     * writes, at most log2(n) reads of left siblings.
     */
    async append(entry: string, leaf: Uint8Array, at: string): Promise<number> {
      // protocol §9: one linear log across nodes — appends take turns from reading the size to commit.
      await holdUntilCommit(sql, ADVISORY_LOCK.history);
      const index = await size();
      await sql.run('INSERT INTO log_entries (idx, entry, leaf_hash, logged_at) VALUES (?, ?, ?, ?)', [index, entry, Buffer.from(leaf), at]);
      await insertNode(0, index, leaf);
      let level = 0;
      let i = index;
      let h = leaf;
      while (i % 2 === 1) {
        h = nodeHash(await subtree(level, i - 1), h);
        level++;
        i = Math.floor(i / 2);
        await insertNode(level, i, h);
      }
      return index;
    },
  };
}
