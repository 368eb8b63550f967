import { sha256 } from '../crypto/hash.js';

/**
 * RFC 9162 §2.1 Merkle tree maths, pure and portable (the device agent and
 * `ota audit` share it with the server). Trees are read through a
 * `SubtreeSource` that returns the hash of a complete, aligned subtree
 * (level L, index i = leaves [i·2^L, (i+1)·2^L)), so a store holding those
 * hashes answers a root, an inclusion path or a consistency proof in
 * O(log n) reads.
 */
export interface SubtreeSource {
  subtree(level: number, index: number): Uint8Array;
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** RFC 9162 §2.1.1: the root of an empty log is SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  const buf = new Uint8Array(entry.length + 1);
  buf[0] = LEAF_PREFIX;
  buf.set(entry, 1);
  return sha256(buf);
}

/** RFC 9162 §2.1.1: interior node = SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The largest power of two strictly below n (n ≥ 2): RFC 9162's k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** MTH(D[start:end]) for a range the RFC's recursion produces (start aligned to the range's split). */
export function rangeHash(src: SubtreeSource, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && start % n === 0) return src.subtree(Math.log2(n), start / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(src, start, start + k), rangeHash(src, start + k, end));
}

/** MTH of the first `size` leaves. */
export const rootAt = (src: SubtreeSource, size: number): Uint8Array => rangeHash(src, 0, size);

/** RFC 9162 §2.1.3.1 PATH(m, D[start:end]), leaf to root. */
export function inclusionPath(src: SubtreeSource, index: number, size: number): Uint8Array[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`index ${index} is outside a tree of size ${size}`);
  const path: Uint8Array[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeHash(src, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeHash(src, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
export function consistencyProof(src: SubtreeSource, from: number, to: number): Uint8Array[] {
  if (!(from >= 1 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  const proof: Uint8Array[] = [];
  const sub = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!whole) proof.push(rangeHash(src, start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, whole);
      proof.push(rangeHash(src, start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      proof.push(rangeHash(src, start, start + k));
    }
  };
  sub(from, 0, to, true);
  return proof;
}

/** RFC 9162 §2.1.3.2: verifies an inclusion path for `leaf` at `index` in a tree of `size` with `root`. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/** RFC 9162 §2.1.4.2: verifies that the tree (to, toRoot) extends the tree (from, fromRoot). */
export function verifyConsistency(from: number, to: number, fromRoot: Uint8Array, toRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 1 && from <= to)) return false;
  if (from === to) return proof.length === 0 && equalBytes(fromRoot, toRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equalBytes(fr, fromRoot) && equalBytes(sr, toRoot) && sn === 0;
}

/**
 * A whole tree in memory, built from leaf hashes (what `ota audit` and test
 * fakes recompute). levels[L][i] is the complete subtree (L, i).
 */
export class MemoryTree implements SubtreeSource {
  private readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  append(leaf: Uint8Array): number {
    const index = this.size;
    let level = 0;
    let i = index;
    let h = leaf;
    (this.levels[0] as Uint8Array[]).push(h);
    while (i % 2 === 1) {
      h = nodeHash((this.levels[level] as Uint8Array[])[i - 1] as Uint8Array, h);
      level++;
      i = Math.floor(i / 2);
      (this.levels[level] ??= []).push(h);
    }
    return index;
  }

  subtree(level: number, index: number): Uint8Array {
    const h = this.levels[level]?.[index];
    if (!h) throw new RangeError(`no complete subtree (${level}, ${index})`);
    return h;
  }

  root(size = this.size): Uint8Array {
    return rootAt(this, size);
  }
}
