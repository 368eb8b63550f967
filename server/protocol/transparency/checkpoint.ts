import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../crypto/encoding.js';
import { sha256 } from '../crypto/hash.js';
import type { PublicKey } from '../crypto/keys.js';
import { verifyEd25519, type Signer } from '../crypto/signer.js';
import { equalBytes } from './merkle.js';

/**
 * protocol §8 checkpoints: a C2SP tlog-checkpoint body signed as a C2SP
 * signed note with the online key. Portable (the device agent verifies
 * them); the server signs them.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
}

export interface NoteSignature {
  name: string;
  keyHash: Uint8Array;
  signature: Uint8Array;
}

export interface ParsedCheckpoint extends Checkpoint {
  /** The signed text: the three body lines, each ending in 0x0A. */
  body: string;
  signatures: NoteSignature[];
}

export class CheckpointError extends Error {}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const MAX_SIGNATURES = 16;
const MAX_NOTE_CHARS = 8192;
const EM_DASH = '\u2014';

export const checkpointBody = (c: Checkpoint): string => `${c.origin}\n${c.size}\n${toBase64(c.rootHash)}\n`;

/** C2SP signed-note Ed25519 key hash: first 4 bytes of SHA-256(name || 0x0A || 0x01 || 32-byte public key). */
export function keyHashOf(origin: string, publicHex: string): Uint8Array {
  const name = utf8(origin);
  const pub = fromHex(publicHex);
  const buf = new Uint8Array(name.length + 2 + pub.length);
  buf.set(name, 0);
  buf[name.length] = 0x0a;
  buf[name.length + 1] = 0x01;
  buf.set(pub, name.length + 2);
  return sha256(buf).slice(0, 4);
}

/** The whole note: body, blank line, one signature line by `signer` (whose public key is `publicHex`). */
export function signCheckpoint(c: Checkpoint, signer: Signer, publicHex: string): string {
  const body = checkpointBody(c);
  const sig = fromHex(signer.sign(utf8(body)));
  const keyHash = keyHashOf(c.origin, publicHex);
  const blob = new Uint8Array(keyHash.length + sig.length);
  blob.set(keyHash, 0);
  blob.set(sig, keyHash.length);
  return `${body}\n${EM_DASH} ${c.origin} ${toBase64(blob)}\n`;
}

/** Strict parse of a note as protocol §8 writes it; throws CheckpointError saying what is wrong. */
export function parseCheckpoint(note: unknown): ParsedCheckpoint {
  if (typeof note !== 'string' || note.length > MAX_NOTE_CHARS) throw new CheckpointError('checkpoint is not a note of at most 8 KiB');
  const split = note.indexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new CheckpointError('checkpoint has no blank line before its signatures, or does not end in a newline');
  const body = note.slice(0, split + 1);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length !== 3) throw new CheckpointError(`checkpoint body has ${lines.length} lines, expected origin, size and root hash`);
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (origin === '' || /\s|\+/.test(origin)) throw new CheckpointError('checkpoint origin is empty or holds whitespace or "+"');
  if (!SIZE_RE.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new CheckpointError('checkpoint tree size is not a decimal integer');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText);
  } catch {
    throw new CheckpointError('checkpoint root hash is not standard base64');
  }
  if (rootHash.length !== 32) throw new CheckpointError('checkpoint root hash is not 32 bytes');
  const sigLines = note.slice(split + 2, -1).split('\n');
  if (sigLines.length > MAX_SIGNATURES) throw new CheckpointError(`checkpoint carries more than ${MAX_SIGNATURES} signatures`);
  const signatures = sigLines.map((line): NoteSignature => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new CheckpointError('checkpoint signature line is not "— <name> <base64>"');
    let blob: Uint8Array;
    try {
      blob = fromBase64(m[2] as string);
    } catch {
      throw new CheckpointError('checkpoint signature is not standard base64');
    }
    if (blob.length < 5) throw new CheckpointError('checkpoint signature is too short');
    return { name: m[1] as string, keyHash: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { origin, size: Number(sizeText), rootHash, body, signatures };
}

export type CheckpointCheck = { ok: true; checkpoint: ParsedCheckpoint } | { ok: false; message: string };

/**
 * protocol §8: the note parses and one of its signatures, named after the
 * origin, verifies under one of `keys` (a root's online keys). Signatures by
 * other keys (witnesses) are ignored, never counted.
 */
export function verifyCheckpoint(note: unknown, keys: readonly PublicKey[]): CheckpointCheck {
  let cp: ParsedCheckpoint;
  try {
    cp = parseCheckpoint(note);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  const body = utf8(cp.body);
  for (const key of keys) {
    const hash = keyHashOf(cp.origin, key.keyval.public);
    for (const s of cp.signatures) {
      if (s.name !== cp.origin || !equalBytes(s.keyHash, hash) || s.signature.length !== 64) continue;
      if (verifyEd25519(key.keyval.public, body, toHex(s.signature))) return { ok: true, checkpoint: cp };
    }
  }
  return { ok: false, message: `checkpoint of ${cp.origin} at size ${cp.size} carries no valid signature by an online key` };
}
