import { fromHex, toBase64, toHex, utf8 } from '../crypto/encoding.js';
import { sha256 } from '../crypto/hash.js';
import { verifyEd25519, type Signer } from '../crypto/signer.js';
import type { ParsedCheckpoint } from './checkpoint.js';
import { equalBytes } from './merkle.js';

/**
 * C2SP tlog-cosignature/v1: a witness's signature line on a checkpoint,
 * saying "at `time` I had verified this checkpoint consistent with every
 * one I saw before". Portable, like checkpoint.ts.
 */
export interface Witness {
  name: string;
  /** Ed25519 public key, 64 hex. */
  publicHex: string;
}

const EM_DASH = '\u2014';
const COSIGNATURE_TYPE = 0x04;

/** Key hash of a cosignature key: first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key). */
export function cosignatureKeyHash(name: string, publicHex: string): Uint8Array {
  const n = utf8(name);
  const pub = fromHex(publicHex);
  const buf = new Uint8Array(n.length + 2 + pub.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = COSIGNATURE_TYPE;
  buf.set(pub, n.length + 2);
  return sha256(buf).slice(0, 4);
}

/** The signed message: "cosignature/v1\ntime <seconds>\n" followed by the checkpoint body. */
export const cosignedMessage = (body: string, time: number): string => `cosignature/v1\ntime ${time}\n${body}`;

/** One signature line (ending in a newline) by `signer`, at `time` (seconds since the epoch). */
export function cosign(body: string, name: string, signer: Signer, publicHex: string, time: number): string {
  const sig = fromHex(signer.sign(utf8(cosignedMessage(body, time))));
  const blob = new Uint8Array(4 + 8 + sig.length);
  blob.set(cosignatureKeyHash(name, publicHex), 0);
  new DataView(blob.buffer).setBigUint64(4, BigInt(time));
  blob.set(sig, 12);
  return `${EM_DASH} ${name} ${toBase64(blob)}\n`;
}

/** The time a witness cosigned `cp` at, or undefined when none of its signature lines verifies. */
export function cosignedAt(cp: ParsedCheckpoint, witness: Witness): number | undefined {
  const hash = cosignatureKeyHash(witness.name, witness.publicHex);
  for (const s of cp.signatures) {
    if (s.name !== witness.name || !equalBytes(s.keyHash, hash) || s.signature.length !== 8 + 64) continue;
    const time = Number(new DataView(s.signature.buffer, s.signature.byteOffset).getBigUint64(0));
    if (!Number.isSafeInteger(time)) continue;
    if (verifyEd25519(witness.publicHex, utf8(cosignedMessage(cp.body, time)), toHex(s.signature.slice(8)))) return time;
  }
  return undefined;
}

