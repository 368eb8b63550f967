import type { Db } from '../db/open.js';
import { nodeHash, type SubtreeSource } from './merkle.js';

export type LogStore = ReturnType<typeof createLogStore>;

/**
 * SQL of the transparency log (protocol §8). `append` must run inside the
 * caller's transaction, the one that stores the document: a crash never
 * leaves a stored document unlogged or a logged one unstored.
 */
export function createLogStore(db: Db) {
  const sizeStmt = db.prepare<[], { size: number }>('SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM log_entries');
  const insertEntry = db.prepare('INSERT INTO log_entries (idx, entry, leaf_hash, logged_at) VALUES (?, ?, ?, ?)');
  const insertNode = db.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)');
  const nodeStmt = db.prepare<[number, number], { hash: Buffer }>('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?');
  const byLeafStmt = db.prepare<[Uint8Array], { idx: number }>('SELECT idx FROM log_entries WHERE leaf_hash = ?');
  const saveCosig = db.prepare(`INSERT INTO log_cosignatures (size, witness, time, line) VALUES (?, ?, ?, ?)
    ON CONFLICT (size, witness) DO UPDATE SET time = excluded.time, line = excluded.line WHERE excluded.time > log_cosignatures.time`);
  const cosigsStmt = db.prepare<[number], { line: string }>('SELECT line FROM log_cosignatures WHERE size = ? ORDER BY witness');
  const rangeStmt = db.prepare<[number, number], { entry: string }>('SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx');

  const subtree = (level: number, index: number): Uint8Array => {
    const row = nodeStmt.get(level, index);
    if (!row) throw new Error(`transparency log: subtree (${level}, ${index}) is missing`);
    return new Uint8Array(row.hash);
  };

  return {
    size: (): number => (sizeStmt.get() as { size: number }).size,
    source: { subtree } satisfies SubtreeSource,
    indexOfLeaf: (leaf: Uint8Array): number | undefined => byLeafStmt.get(leaf)?.idx,
    /** Keeps a witness's cosignature on the checkpoint of `size` (the newest per witness wins). */
    saveCosignature: (size: number, witness: string, time: number, line: string): void => void saveCosig.run(size, witness, time, line),
    /** Cosignature lines on the checkpoint of `size`, by witness name. */
    cosignatures: (size: number): string[] => cosigsStmt.all(size).map((r) => r.line),
    /** Entry texts for start ≤ i < end. */
    entries: (start: number, end: number): string[] => rangeStmt.all(start, end).map((r) => r.entry),
    /**
     * Appends one leaf and every subtree it completes: amortised O(1)
     * writes, at most log2(n) reads of left siblings.
     */
    append(entry: string, leaf: Uint8Array, at: string): number {
      const index = (sizeStmt.get() as { size: number }).size;
      insertEntry.run(index, entry, leaf, at);
      insertNode.run(0, index, leaf);
      let level = 0;
      let i = index;
      let h = leaf;
      while (i % 2 === 1) {
        h = nodeHash(subtree(level, i - 1), h);
        level++;
        i = Math.floor(i / 2);
        insertNode.run(level, i, h);
      }
      return index;
    },
  };
}
