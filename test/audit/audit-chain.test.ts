import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { auditEntryHash, auditLinkHash, GENESIS_HASH, verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { createAuditStore } from '../../server/audit/audit-store.js';
import { canonicalJson } from '../../server/protocol/crypto/canonical.js';
import { sha256Hex } from '../../server/protocol/crypto/hash.js';
import { migrate } from '../../server/db/migrations/index.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';

async function storeWith(n: number) {
  const db = new Database(':memory:');
  migrate(db);
  const audit = createAuditStore(sqliteSql(db));
  for (let i = 1; i <= n; i++) {
    await audit.append({ actor: 'operator:t(admin)', action: 'release.publish', subject: `rel-${i}`, details: { n: i, nested: { ok: true } } }, `2026-11-24T10:00:0${i}Z`);
  }
  return { db, audit };
}

describe('audit hash chain', async () => {
  it('links every entry to the previous one and verifies', async () => {
    const { audit } = await storeWith(5);
    const entries = await audit.page(0, 100);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(auditLinkHash(entries[i - 1] as AuditEntry));
    expect(verifyAuditChain(entries)).toEqual({ ok: true, checked: 5 });
  });

  it('append returns the entry exactly as it is stored and served', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const audit = createAuditStore(sqliteSql(db));
    const first = await audit.append({ actor: 'a', action: 'release.publish', subject: 's' }, '2026-11-24T10:00:00Z');
    // undefined values vanish in storage: the hash covers the details as served, not as passed.
    const second = await audit.append({ actor: 'a', action: 'release.publish', subject: 's', details: { gone: undefined, kept: 1 } }, '2026-11-24T10:00:01Z');
    expect(await audit.page(0, 10)).toEqual([first, second]);
    expect(second.details).toEqual({ kept: 1 });
    expect(second.prevHash).toBe(auditLinkHash(first));
    expect(verifyAuditChain([first, second]).ok).toBe(true);
  });

  it('a page from the middle verifies from the link to the entry before it', async () => {
    const { audit } = await storeWith(5);
    const [, second] = await audit.page(0, 2);
    expect(verifyAuditChain(await audit.page(2, 100), auditLinkHash(second as AuditEntry)).ok).toBe(true);
    // The previous entry's own hash is not its link.
    expect(verifyAuditChain(await audit.page(2, 100), (second as AuditEntry).hash)).toMatchObject({ ok: false, brokenAt: 3, checked: 0 });
    expect(verifyAuditChain(await audit.page(2, 100)).ok).toBe(false);
  });

  it('the hashes can be recomputed by hand: hash = SHA-256(JCS(entry without hash)), prevHash = SHA-256(JCS(previous entry))', async () => {
    const { audit } = await storeWith(2);
    const [first, e] = (await audit.page(0, 2)) as [AuditEntry, AuditEntry];
    const body = { seq: e.seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject, details: e.details, prevHash: e.prevHash };
    expect(e.hash).toBe(sha256Hex(canonicalJson(body)));
    expect(auditEntryHash(e)).toBe(e.hash);
    const served = { seq: first.seq, at: first.at, actor: first.actor, action: first.action, subject: first.subject, details: first.details,
      prevHash: first.prevHash, hash: first.hash };
    expect(e.prevHash).toBe(sha256Hex(canonicalJson(served)));
    expect(auditLinkHash(first)).toBe(e.prevHash);
    expect(first.prevHash).toBe(GENESIS_HASH);
  });

  it.each([
    ['details', "UPDATE audit_log SET details = '{\"n\":99,\"nested\":{\"ok\":true}}' WHERE seq = 3"],
    ['actor', "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"],
    ['at', "UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE seq = 3"],
    ['prev_hash', `UPDATE audit_log SET prev_hash = '${'1'.repeat(64)}' WHERE seq = 3`],
    ['hash', `UPDATE audit_log SET hash = '${'2'.repeat(64)}' WHERE seq = 3`],
  ])('tampering with %s of row 3 in SQLite breaks the chain at seq 3', async (_what, sql) => {
    const { db, audit } = await storeWith(5);
    db.prepare(sql).run();
    const check = verifyAuditChain(await audit.page(0, 100));
    expect(check.ok).toBe(false);
    expect(check.brokenAt).toBe(3);
    expect(check.checked).toBe(2);
  });

  it('deleting a row breaks the chain at the next entry', async () => {
    const { db, audit } = await storeWith(5);
    db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    expect(verifyAuditChain(await audit.page(0, 100))).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringContaining('prevHash') });
  });

  it('rewriting a row and re-hashing it still breaks the link from the next entry', async () => {
    const { db, audit } = await storeWith(5);
    const [, , third] = (await audit.page(0, 3)) as AuditEntry[];
    const forged = { ...(third as AuditEntry), details: { forged: true } };
    const hash = auditEntryHash(forged);
    db.prepare('UPDATE audit_log SET details = ?, hash = ? WHERE seq = 3').run(JSON.stringify(forged.details), hash);
    expect(verifyAuditChain(await audit.page(0, 100))).toEqual({ ok: false, checked: 3, brokenAt: 4, reason: 'prevHash does not match the previous entry' });
  });
});
