import { createHash } from 'node:crypto';

/**
 * A second, minimal RFC 9162 §2.1 implementation written from the RFC's
 * text for the tests alone: it never imports the server's Merkle code, so
 * the two can only agree if both follow the RFC.
 */
const H = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const refLeaf = (d: Uint8Array): Buffer => H(LEAF, d);

/** k: the largest power of two smaller than n (RFC 9162 §2.1.1). */
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);

/** §2.1.1 MTH over the entries themselves. */
export function refMth(d: readonly Uint8Array[]): Buffer {
  if (d.length === 0) return H();
  if (d.length === 1) return refLeaf(d[0] as Uint8Array);
  const s = k(d.length);
  return H(NODE, refMth(d.slice(0, s)), refMth(d.slice(s)));
}

/** §2.1.3.1 PATH(m, D[n]). */
export function refPath(m: number, d: readonly Uint8Array[]): Buffer[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))] : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}

/** §2.1.4.1 PROOF(m, D[n]) via SUBPROOF. */
export function refProof(m: number, d: readonly Uint8Array[]): Buffer[] {
  const sub = (m2: number, d2: readonly Uint8Array[], b: boolean): Buffer[] => {
    if (m2 === d2.length) return b ? [] : [refMth(d2)];
    const s = k(d2.length);
    return m2 <= s ? [...sub(m2, d2.slice(0, s), b), refMth(d2.slice(s))] : [...sub(m2 - s, d2.slice(s), false), refMth(d2.slice(0, s))];
  };
  return sub(m, d, true);
}

const lsb = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** §2.1.3.2 verification of an inclusion proof, step by step. */
export function refVerifyInclusion(leafIndex: number, treeSize: number, hash: Buffer, path: readonly Buffer[], root: Buffer): boolean {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = hash;
  for (const p of path) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = H(NODE, p, r);
      if (!lsb(fn)) while (!(lsb(fn) || fn === 0)) [fn, sn] = [half(fn), half(sn)];
    } else r = H(NODE, r, p);
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && r.equals(root);
}

/** §2.1.4.2 verification of a consistency proof, step by step. */
export function refVerifyConsistency(first: number, second: number, firstHash: Buffer, secondHash: Buffer, proof: readonly Buffer[]): boolean {
  if (first === second) return proof.length === 0 && firstHash.equals(secondHash);
  if (proof.length === 0) return false;
  const path = Number.isInteger(Math.log2(first)) ? [firstHash, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (lsb(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = H(NODE, c, fr);
      sr = H(NODE, c, sr);
      if (!lsb(fn)) while (!(lsb(fn) || fn === 0)) [fn, sn] = [half(fn), half(sn)];
    } else sr = H(NODE, sr, c);
    [fn, sn] = [half(fn), half(sn)];
  }
  return fr.equals(firstHash) && sr.equals(secondHash) && sn === 0;
}
