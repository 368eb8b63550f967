import { canonicalJson } from '../../protocol/crypto/canonical.js';
import { fromHex, isHex, toHex, utf8 } from '../../protocol/crypto/encoding.js';
import type { PublicKey } from '../../protocol/crypto/keys.js';
import { verifyCheckpoint, type CheckpointCheck } from '../../protocol/transparency/checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../protocol/transparency/merkle.js';
import type { RootSigned } from '../../protocol/trust/root.js';
import { reason, type RejectReason } from './reasons.js';
import type { VerifyCache } from './verify-cache.js';

/** The largest checkpoint the device has verified (protocol §8), persisted with its state. */
export interface KeptCheckpoint {
  origin: string;
  size: number;
  /** Root hash, lower-case hex. */
  rootHash: string;
  note: string;
}

/** What the log check of one offer concluded, before any network call. */
export type OfferLogCheck =
  | { ok: false; reasons: RejectReason[] }
  /** `consistencyFrom`: the kept size a consistency proof must start from (absent: none needed). */
  | { ok: true; checkpoint: KeptCheckpoint; consistencyFrom?: number };

const MAX_PROOF_HASHES = 64;
const notLogged = (message: string): OfferLogCheck => ({ ok: false, reasons: [reason('not_logged', message)] });
const field = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Hex hashes of a proof as sent, or undefined when they are not 32-byte lower-case hex (at most 64). */
export function proofHashes(v: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_PROOF_HASHES || !v.every((h) => isHex(h, 32))) return undefined;
  return (v as string[]).map(fromHex);
}

/** protocol §2: the online role's keys in the device's current root. */
export const onlineKeysOf = (root: RootSigned): PublicKey[] =>
  root.roles.online.keyids.map((id) => root.keys[id]).filter((k): k is PublicKey => k !== undefined);

const memo = <T>(cache: VerifyCache | undefined, key: string, compute: () => T): T => (cache ? cache.memo(key, compute) : compute());

/**
 * protocol §8, the device side, without I/O: the offer's `log` member names
 * a checkpoint signed by an online key of the device's root, both envelopes
 * (their JCS bytes as received) are included in it, and it does not go
 * back on the checkpoint kept: never smaller, never another root at the
 * same size. A larger checkpoint needs a consistency proof from the kept
 * one, which the caller fetches (`consistencyFrom`).
 */
export function checkOfferLog(offer: unknown, root: RootSigned, kept: KeptCheckpoint | undefined, cache?: VerifyCache): OfferLogCheck {
  const log = field(offer, 'log');
  if (log === undefined) return notLogged('the offer carries no transparency log proof');
  const note = field(log, 'checkpoint');
  const releaseIndex = field(log, 'releaseIndex');
  const rolloutIndex = field(log, 'rolloutIndex');
  const releaseProof = proofHashes(field(log, 'releaseProof'));
  const rolloutProof = proofHashes(field(log, 'rolloutProof'));
  if (typeof note !== 'string' || !isIndex(releaseIndex) || !isIndex(rolloutIndex) || !releaseProof || !rolloutProof) {
    return notLogged('the offer\'s log member is malformed');
  }
  const keys = onlineKeysOf(root);
  const signed: CheckpointCheck = memo(cache, `checkpoint\n${keys.map((k) => k.keyval.public).join(',')}\n${note}`, () => verifyCheckpoint(note, keys));
  if (!signed.ok) return notLogged(signed.message);
  const cp = signed.checkpoint;
  const checkpoint: KeptCheckpoint = { origin: cp.origin, size: cp.size, rootHash: toHex(cp.rootHash), note };

  for (const [what, envelope, index, proof] of [
    ['release', field(offer, 'release'), releaseIndex, releaseProof],
    ['rollout statement', field(offer, 'rollout'), rolloutIndex, rolloutProof],
  ] as const) {
    let included = false;
    try {
      const leaf = leafHash(utf8(canonicalJson(envelope)));
      included = memo(cache, `inclusion\n${toHex(leaf)}\n${index}\n${note}\n${proof.map(toHex).join(',')}`, () => verifyInclusion(leaf, index, cp.size, proof, cp.rootHash));
    } catch {
      included = false;
    }
    if (!included) return notLogged(`the ${what} is not included at index ${index} of the checkpoint of size ${cp.size}`);
  }

  if (!kept) return { ok: true, checkpoint };
  if (cp.origin !== kept.origin) return notLogged(`checkpoint is for log ${cp.origin}, the device follows ${kept.origin}`);
  if (cp.size < kept.size) return notLogged(`checkpoint of size ${cp.size} is smaller than the one already verified (${kept.size})`);
  if (cp.size === kept.size) {
    return checkpoint.rootHash === kept.rootHash ? { ok: true, checkpoint } : notLogged(`forked log: two checkpoints of size ${cp.size} with different roots`);
  }
  return { ok: true, checkpoint, consistencyFrom: kept.size };
}

/** RFC 9162 §2.1.4.2 for the kept checkpoint and a larger verified one; hashes as served (hex). */
export function consistentWithKept(kept: KeptCheckpoint, next: KeptCheckpoint, hashes: unknown): boolean {
  const proof = proofHashes(hashes);
  return proof !== undefined && verifyConsistency(kept.size, next.size, fromHex(kept.rootHash), fromHex(next.rootHash), proof);
}
