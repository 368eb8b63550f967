import { canonicalJson } from '../crypto/canonical.js';
import { sha256Hex } from '../crypto/hash.js';

/** One audit entry as served by GET /v1/audit (protocol §7). */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** hash = SHA-256(prevHash ":" JCS(entry without hashes)): QA can recompute it from the entry alone. */
export function auditEntryHash(e: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  // The entry's own `hash` (present when verifying a stored entry) is never part of what it hashes.
  const { prevHash, hash: _hash, ...body } = e;
  return sha256Hex(`${prevHash}:${canonicalJson(body)}`);
}

export interface ChainCheck {
  ok: boolean;
  checked: number;
  /** The first entry whose hash or link is wrong. */
  brokenAt?: number;
  reason?: string;
}

/** Checks a run of consecutive entries; `prevHash` is the hash before the first (genesis for seq 1). */
export function verifyAuditChain(entries: readonly AuditEntry[], prevHash = GENESIS_HASH): ChainCheck {
  let prev = prevHash;
  for (const [i, e] of entries.entries()) {
    if (e.prevHash !== prev) return { ok: false, checked: i, brokenAt: e.seq, reason: 'prevHash does not match the previous entry' };
    if (auditEntryHash(e) !== e.hash) return { ok: false, checked: i, brokenAt: e.seq, reason: 'hash does not match the entry' };
    prev = e.hash;
  }
  return { ok: true, checked: entries.length };
}
