import { describe, expect, it } from 'vitest';
import {
  consistencyProof, EMPTY_ROOT, inclusionPath, leafHash, MemoryTree, verifyConsistency, verifyInclusion,
} from '../../server/protocol/transparency/merkle.js';
import { refLeaf, refMth, refPath, refProof, refVerifyConsistency, refVerifyInclusion } from './rfc9162-reference.js';

const entries = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`entry ${i}`));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const buf = (b: Uint8Array): Buffer => Buffer.from(b);

function treeOf(d: Uint8Array[]): MemoryTree {
  const t = new MemoryTree();
  for (const e of d) t.append(leafHash(e));
  return t;
}

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33];
const D = entries(33);

describe('RFC 9162 §2.1 Merkle maths against an independent reference', () => {
  it('leaf hash, empty root and the roots of every size match the RFC definitions', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(leafHash(D[0] as Uint8Array))).toBe(refLeaf(D[0] as Uint8Array).toString('hex'));
    const t = treeOf(D);
    for (let n = 0; n <= 33; n++) expect(hex(t.root(n)), `size ${n}`).toBe(refMth(D.slice(0, n)).toString('hex'));
  });

  it('inclusion paths equal the RFC PATH and verify under both verifiers', () => {
    const t = treeOf(D);
    for (const n of SIZES) {
      const root = t.root(n);
      for (let m = 0; m < n; m++) {
        const path = inclusionPath(t, m, n);
        expect(path.map(hex), `${m} in ${n}`).toEqual(refPath(m, D.slice(0, n)).map((b) => b.toString('hex')));
        expect(refVerifyInclusion(m, n, refLeaf(D[m] as Uint8Array), path.map(buf), buf(root))).toBe(true);
        expect(verifyInclusion(leafHash(D[m] as Uint8Array), m, n, path, root)).toBe(true);
      }
    }
  });

  it('consistency proofs equal the RFC PROOF and verify under both verifiers', () => {
    const t = treeOf(D);
    for (const n of SIZES) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(t, m, n);
        expect(proof.map(hex), `${m} → ${n}`).toEqual(refProof(m, D.slice(0, n)).map((b) => b.toString('hex')));
        expect(refVerifyConsistency(m, n, buf(t.root(m)), buf(t.root(n)), proof.map(buf))).toBe(true);
        expect(verifyConsistency(m, n, t.root(m), t.root(n), proof)).toBe(true);
      }
    }
  });

  it('the server verifiers refuse what the reference refuses: wrong leaf, index, size, root, tampered or short paths', () => {
    const t = treeOf(D);
    const n = 13;
    const root = t.root(n);
    const path = inclusionPath(t, 5, n);
    const leaf = leafHash(D[5] as Uint8Array);
    expect(verifyInclusion(leafHash(D[6] as Uint8Array), 5, n, path, root)).toBe(false);
    expect(verifyInclusion(leaf, 6, n, path, root)).toBe(false);
    expect(verifyInclusion(leaf, 5, 17, path, root)).toBe(false);
    expect(verifyInclusion(leaf, 5, n, path, t.root(12))).toBe(false);
    expect(verifyInclusion(leaf, 5, n, path.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(leaf, 5, n, [...path, root], root)).toBe(false);
    expect(verifyInclusion(leaf, 13, n, path, root)).toBe(false);
    const tampered = path.map((p, i) => (i === 1 ? Uint8Array.from(p, (x, j) => (j === 0 ? x ^ 1 : x)) : p));
    expect(verifyInclusion(leaf, 5, n, tampered, root)).toBe(false);
    expect(refVerifyInclusion(5, n, buf(leaf), tampered.map(buf), buf(root))).toBe(false);

    const proof = consistencyProof(t, 6, n);
    expect(verifyConsistency(6, n, t.root(6), t.root(n), proof)).toBe(true);
    expect(verifyConsistency(6, n, t.root(5), t.root(n), proof)).toBe(false);
    expect(verifyConsistency(6, n, t.root(6), t.root(12), proof)).toBe(false);
    expect(verifyConsistency(7, n, t.root(6), t.root(n), proof)).toBe(false);
    expect(verifyConsistency(6, n, t.root(6), t.root(n), proof.slice(1))).toBe(false);
    expect(verifyConsistency(6, n, t.root(6), t.root(n), [])).toBe(false);
    expect(verifyConsistency(n, n, t.root(n), t.root(n), [])).toBe(true);
    expect(verifyConsistency(n, n, t.root(n), t.root(12), [])).toBe(false);
  });

  it('a forked log of the same size fails consistency against the original', () => {
    const forked = [...D.slice(0, 10)];
    forked[3] = new TextEncoder().encode('rewritten entry 3');
    const a = treeOf(D.slice(0, 10));
    const b = treeOf(forked);
    expect(verifyConsistency(8, 10, a.root(8), b.root(10), consistencyProof(b, 8, 10))).toBe(false);
    expect(refVerifyConsistency(8, 10, buf(a.root(8)), buf(b.root(10)), consistencyProof(b, 8, 10).map(buf))).toBe(false);
  });
});

describe('RFC 9162 maths at random sizes', () => {
  it('for every n ≤ 70, a scattered (m, n) pair agrees with the reference for inclusion and consistency', () => {
    const d = entries(70);
    const t = treeOf(d);
    for (let n = 1; n <= 70; n++) {
      const m = (n * 31 + 7) % n;
      const from = 1 + ((n * 17 + 3) % n);
      expect(inclusionPath(t, m, n).map(hex)).toEqual(refPath(m, d.slice(0, n)).map((b) => b.toString('hex')));
      expect(consistencyProof(t, from, n).map(hex)).toEqual(refProof(from, d.slice(0, n)).map((b) => b.toString('hex')));
    }
  });
});
