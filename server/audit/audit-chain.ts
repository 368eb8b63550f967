import { canonicalJson } from '../protocol/crypto/canonical.js';
import { sha256Hex } from '../protocol/crypto/hash.js';

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

/** The `prevHash` of the first entry (seq 1): there is no previous entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * An entry's own `hash`: hex SHA-256 of JCS (RFC 8785) of the entry as served
 * without its `hash` field, i.e. of {seq, at, actor, action, subject, details,
 * prevHash}. Any other field an entry carries is covered too: what is hashed
 * is literally the served object minus `hash`.
 */
export function auditEntryHash(e: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...body } = e;
  return sha256Hex(canonicalJson(body));
}

/**
 * The link to an entry (protocol §7: "each entry carries the SHA-256 of the
 * previous entry"): hex SHA-256 of JCS of the entry exactly as served, `hash`
 * included. The next entry's `prevHash` must equal it.
 */
export function auditLinkHash(e: AuditEntry): string {
  return sha256Hex(canonicalJson(e));
}

export interface ChainCheck {
  ok: boolean;
  /** Entries verified before the first broken one (all of them when ok). */
  checked: number;
  /** The seq of the first entry whose own hash or link to the previous entry is wrong. */
  brokenAt?: number;
  reason?: string;
}

/**
 * Checks a run of consecutive entries, each for its own `hash` and for its
 * `prevHash` = auditLinkHash(previous entry). `prevLink` is the link to the
 * entry before the first one: GENESIS_HASH when the run starts at seq 1,
 * else auditLinkHash of that entry.
 *
 * An entry altered in place breaks at itself (its own hash); one altered and
 * re-hashed breaks at the next entry (its link); a deleted entry breaks at
 * the one after it (its link).
 */
export function verifyAuditChain(entries: readonly AuditEntry[], prevLink = GENESIS_HASH): ChainCheck {
  let link = prevLink;
  for (const [i, e] of entries.entries()) {
    if (auditEntryHash(e) !== e.hash) return { ok: false, checked: i, brokenAt: e.seq, reason: 'hash does not match the entry' };
    if (e.prevHash !== link) return { ok: false, checked: i, brokenAt: e.seq, reason: 'prevHash does not match the previous entry' };
    link = auditLinkHash(e);
  }
  return { ok: true, checked: entries.length };
}
