import { signedBytes } from './canonical.js';
import { isHex } from './encoding.js';
import type { PublicKey } from './keys.js';
import { verifyEd25519, type Signer } from './signer.js';

/** protocol §1: every signed document travels in this envelope. */
export interface Signature {
  keyid: string;
  sig: string;
}

export interface Envelope<T = Record<string, unknown>> {
  signed: T;
  signatures: Signature[];
}

/** A role as the root document declares it. */
export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

/** Adds one signature per signer; a keyid that already signed is replaced, never duplicated. */
export function signEnvelope<T>(envelope: Envelope<T> | { signed: T }, signers: Signer[]): Envelope<T> {
  const bytes = signedBytes(envelope.signed);
  const existing = 'signatures' in envelope ? envelope.signatures : [];
  const replaced = new Set(signers.map((s) => s.keyid));
  return {
    signed: envelope.signed,
    signatures: [
      ...existing.filter((s) => !replaced.has(s.keyid)),
      ...signers.map((s) => ({ keyid: s.keyid, sig: s.sign(bytes) })),
    ],
  };
}

export interface ThresholdResult {
  met: boolean;
  threshold: number;
  /** Distinct keyids of the role whose signatures verified. */
  valid: string[];
  /** Why each signature that did not count was ignored. */
  ignored: { keyid: string; reason: 'unknown_keyid' | 'bad_signature' | 'duplicate_keyid' | 'malformed' }[];
}

/**
 * protocol §1: valid for a role when signatures by at least `threshold`
 * DISTINCT keyids of that role verify; unknown keyids and bad signatures are
 * ignored, never counted; a keyid counts once however often it signed.
 */
export function verifyThreshold(
  envelope: Envelope<unknown>,
  keys: Readonly<Record<string, PublicKey>>,
  role: RoleKeys,
  bytes: Uint8Array = signedBytes(envelope.signed),
): ThresholdResult {
  const roleKeyids = new Set(role.keyids);
  const valid = new Set<string>();
  const ignored: ThresholdResult['ignored'] = [];
  for (const s of envelope.signatures) {
    if (!isHex(s.keyid, 32) || !isHex(s.sig, 64)) {
      ignored.push({ keyid: String(s.keyid), reason: 'malformed' });
      continue;
    }
    const key = roleKeyids.has(s.keyid) ? keys[s.keyid] : undefined;
    if (!key) ignored.push({ keyid: s.keyid, reason: 'unknown_keyid' });
    else if (valid.has(s.keyid)) ignored.push({ keyid: s.keyid, reason: 'duplicate_keyid' });
    else if (verifyEd25519(key.keyval.public, bytes, s.sig)) valid.add(s.keyid);
    else ignored.push({ keyid: s.keyid, reason: 'bad_signature' });
  }
  const met = role.threshold >= 1 && valid.size >= role.threshold;
  return { met, threshold: role.threshold, valid: [...valid], ignored };
}

/** What an unknown keyid is to the root, when it is something: "a root key, not a release key". */
export type KeyidNote = (keyid: string) => string | undefined;

/**
 * One human sentence for a failed threshold, naming what did not count.
 * The reason words stay as they are (unknown_keyid…); `note` only adds
 * words in brackets, such as which role a misplaced key belongs to.
 */
export function describeThreshold(roleName: string, r: ThresholdResult, note?: KeyidNote): string {
  const why = r.ignored.map((i) => {
    const what = i.reason === 'unknown_keyid' ? note?.(i.keyid) : undefined;
    return `${i.keyid.slice(0, 12)}…: ${i.reason}${what ? ` (${what})` : ''}`;
  }).join(', ');
  return `${roleName} role needs ${r.threshold} valid signature(s) from distinct keys, found ${r.valid.length}` +
    (why ? ` (ignored: ${why})` : '');
}
