import { LRUCache } from 'lru-cache';
import { canonicalJson } from '../protocol/crypto/canonical.js';
import { toHex, utf8 } from '../protocol/crypto/encoding.js';
import { ed25519Signer } from '../protocol/crypto/signer.js';
import type { TrustState } from '../trust/trust-state.js';
import { serialRefresh } from '../db/view-refresh.js';
import { AppError } from '../errors.js';
import { checkpointBody, parseCheckpoint, signCheckpoint } from '../protocol/transparency/checkpoint.js';
import { cosignedAt, type Witness } from '../protocol/transparency/cosignature.js';
import type { LogStore } from './log-store.js';
import { consistencyProof, inclusionPath, leafHash, MemoryTree, rootAt } from '../protocol/transparency/merkle.js';

export interface LatestCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** The signed note, as served by GET /v1/log/checkpoint and in every poll offer. */
  note: string;
  etag: string;
}

export interface LogDeps {
  store: LogStore;
  trust: TrustState;
  origin: string;
  /** Witnesses whose cosignatures are accepted and served (none: checkpoints carry the log's signature only). */
  witnesses?: readonly Witness[];
}

/** protocol §8: an entry's bytes are the UTF-8 of the JCS of the envelope exactly as served. */
export const entryTextOf = (envelope: unknown): string => canonicalJson(envelope);

const MAX_CACHED_PROOFS = 10_000;

export type TransparencyLog = ReturnType<typeof createTransparencyLog>;

/**
 * The log as the rest of the server uses it: append (inside the caller's
 * transaction), and an in-memory view of the committed tree — every leaf
 * hash, the latest signed checkpoint, proofs — rebuilt by `refresh()` after
 * each commit that appended (and at start), so polls and the public routes
 * read no database for a checkpoint or a proof. Leaves and complete
 * subtrees never change once written: a refresh reads only new leaves.
 */
export function createTransparencyLog(deps: LogDeps) {
  const { store } = deps;
  let tree = new MemoryTree();
  let indexByLeaf = new Map<string, number>();
  let latest: LatestCheckpoint | undefined;
  let generation = 0;
  // Proofs against the latest size, per offer (release index, statement index): what polls carry.
  const members = new Map<string, string>();
  // Route answers for any (index, size) / (from, to): immutable once the sizes exist, bounded (least recently used go).
  const proofs = new LRUCache<string, string[]>({ max: MAX_CACHED_PROOFS });

  const remember = (key: string, compute: () => string[]): string[] => {
    let hit = proofs.get(key);
    if (!hit) {
      hit = compute();
      proofs.set(key, hit);
    }
    return hit;
  };

  const signLatest = (n: number, cosignatures: readonly string[]): LatestCheckpoint => {
    const rootHash = rootAt(tree, n);
    const key = deps.trust.current().onlineKey;
    const note = signCheckpoint({ origin: deps.origin, size: n, rootHash }, ed25519Signer(key), key.keyval.public) + cosignatures.join('');
    return { size: n, rootHash, note, etag: `"${n}-${toHex(rootHash).slice(0, 32)}-${cosignatures.length}"` };
  };

  /** Reads committed leaves past the view's size and re-signs the checkpoint when the tree or its cosignatures changed. */
  const rebuild = async (): Promise<void> => {
    const known = tree.size;
    const added = await store.leavesFrom(known);
    // A store behind the view (a test swapped the database, or a rollback the view never saw): start over.
    let next = tree;
    let nextIndex = indexByLeaf;
    if (added.length > 0 && added[0]?.idx !== known) {
      next = new MemoryTree();
      nextIndex = new Map();
      for (const r of await store.leavesFrom(0)) {
        nextIndex.set(toHex(r.leaf), next.append(r.leaf));
      }
    } else {
      for (const r of added) nextIndex.set(toHex(r.leaf), next.append(r.leaf));
    }
    tree = next;
    indexByLeaf = nextIndex;
    const n = tree.size;
    const cosignatures = await store.cosignatures(n);
    const cp = signLatest(n, cosignatures);
    if (latest?.note !== cp.note) {
      latest = cp;
      members.clear();
      generation++;
    }
  };

  const log = {
    /** Changes with every new checkpoint; caches of poll answers key on it. */
    generation: (): number => generation,
    /** Entries in the view (committed and refreshed). */
    size: (): number => tree.size,

    /**
     * Brings the in-memory view up to what is committed: call after the
     * commit of every transaction that appended or saved a cosignature.
     */
    refresh: serialRefresh(rebuild),

    /**
     * Appends the envelope (idempotent: a document already logged keeps its
     * index). Call inside the transaction that stores the document, then
     * `refresh()` after it commits.
     */
    async append(envelope: unknown, at: string): Promise<number> {
      const text = entryTextOf(envelope);
      const leaf = leafHash(utf8(text));
      const existing = await store.indexOfLeaf(leaf);
      if (existing !== undefined) return existing;
      return store.append(text, leaf, at);
    },

    /** The index of an envelope served as `json`, if it was logged (from the view). */
    indexOf: (json: string): number | undefined => indexByLeaf.get(toHex(leafHash(utf8(entryTextOf(JSON.parse(json)))))),

    checkpoint(): LatestCheckpoint {
      latest ??= signLatest(tree.size, []);
      return latest;
    },

    /**
     * Accepts a configured witness's cosignature (C2SP tlog-cosignature/v1)
     * on the checkpoint of `treeSize`, verified against this log's own root
     * at that size; served from then on with that checkpoint.
     */
    async addCosignature(treeSize: number, line: string): Promise<{ witness: string; time: number }> {
      const n = tree.size;
      if (treeSize > n) throw new AppError('bad_request', `no checkpoint of size ${treeSize}: the log has ${n} entries`);
      const name = /^\u2014 (\S+) /.exec(line)?.[1];
      const witness = deps.witnesses?.find((w) => w.name === name);
      if (!witness) throw new AppError('unprocessable', `${String(name)} is not a witness this log accepts (OTA_LOG_WITNESSES)`);
      const body = checkpointBody({ origin: deps.origin, size: treeSize, rootHash: rootAt(tree, treeSize) });
      let time: number | undefined;
      try {
        time = cosignedAt(parseCheckpoint(`${body}\n${line}\n`), witness);
      } catch {
        time = undefined;
      }
      if (time === undefined) throw new AppError('signature_invalid', `the cosignature of ${witness.name} does not verify for the checkpoint of size ${treeSize}`);
      await store.saveCosignature(treeSize, witness.name, time, `${line}\n`);
      if (treeSize === n) await log.refresh();
      return { witness: witness.name, time };
    },

    /** RFC 9162 §2.1.3 path for entry `index` in the tree of `treeSize` (both checked by the caller). */
    inclusion: (index: number, treeSize: number): string[] =>
      remember(`i:${index}:${treeSize}`, () => inclusionPath(tree, index, treeSize).map(toHex)),

    /** RFC 9162 §2.1.4 proof that the tree of `to` extends the tree of `from`. */
    consistency: (from: number, to: number): string[] =>
      remember(`c:${from}:${to}`, () => consistencyProof(tree, from, to).map(toHex)),

    entries: (start: number, end: number): Promise<string[]> => store.entries(start, end),

    /**
     * protocol §8: the `log` member of a poll offer, as JSON, against the
     * latest checkpoint. One per offer, shared by every device shown it.
     */
    offerMember(releaseIndex: number, rolloutIndex: number): string {
      const cp = log.checkpoint();
      const key = `${releaseIndex}:${rolloutIndex}`;
      let json = members.get(key);
      if (json === undefined) {
        json = JSON.stringify({
          checkpoint: cp.note,
          releaseIndex,
          releaseProof: log.inclusion(releaseIndex, cp.size),
          rolloutIndex,
          rolloutProof: log.inclusion(rolloutIndex, cp.size),
        });
        members.set(key, json);
      }
      return json;
    },
  };
  return log;
}
