import { canonicalJson } from '../../../protocol/crypto/canonical.js';
import type { AuditEntry } from './types.js';

/** The `prevHash` of seq 1 (docs/protocol-notes.md#audit-log). */
const GENESIS = '0'.repeat(64);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export type ChainResult = { ok: true; checked: number; lastSeq: number | null } | { ok: false; checked: number; brokenAt: number; reason: string };

/**
 * Recomputes the audit hash chain in the browser (docs/protocol-notes.md#audit-log):
 * hash = SHA-256(JCS(entry without `hash`)); prevHash of entry n =
 * SHA-256(JCS(entry n−1 as served, `hash` included)); seq 1 links to 64 zeros.
 * Entries oldest first, from seq 1. Says where the chain first breaks.
 */
export async function verifyChain(entries: readonly AuditEntry[]): Promise<ChainResult> {
  if (!globalThis.crypto?.subtle) throw new Error('WebCrypto is not available: open the dashboard over HTTPS or on localhost');
  let link = GENESIS;
  let expectedSeq = 1;
  for (const [i, e] of entries.entries()) {
    if (e.seq !== expectedSeq) return { ok: false, checked: i, brokenAt: e.seq, reason: `expected seq ${expectedSeq} here: an entry is missing` };
    const { hash, ...body } = e;
    if ((await sha256Hex(canonicalJson(body))) !== hash) return { ok: false, checked: i, brokenAt: e.seq, reason: 'its hash does not match its contents' };
    if (e.prevHash !== link) return { ok: false, checked: i, brokenAt: e.seq, reason: 'its prevHash does not match the previous entry' };
    link = await sha256Hex(canonicalJson(e));
    expectedSeq++;
  }
  return { ok: true, checked: entries.length, lastSeq: entries.length ? (entries[entries.length - 1] as AuditEntry).seq : null };
}
