import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditEntryHash, auditLinkHash, GENESIS_HASH, verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { bearer } from '../helpers/fixtures.js';
import { act, createCohort } from '../helpers/fleet.js';
import type { Sql } from '../../server/db/sql.js';
import { tamperAuditDetails } from '../helpers/db-state.js';
import { scenario, type Scenario } from './scenario.js';

/** Walks GET /v1/audit page by page, as QA would. */
async function fetchAll(s: Scenario, limit: number): Promise<{ entries: AuditEntry[]; pages: number }> {
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await request(s.f.app).get('/v1/audit').query(cursor === null ? { limit: String(limit) } : { limit: String(limit), cursor }).set(bearer(s.f.tokens.viewer));
    expect(res.status, res.text).toBe(200);
    const body = res.body as { entries: AuditEntry[]; nextCursor: string | null };
    expect(body.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...body.entries);
    cursor = body.nextCursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { entries, pages };
}

/** A log with publish, cohort and rollout entries: release.publish, cohort.create, rollout.create, start, pause, resume, advance. */
async function busyLog() {
  const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 100 }, { cohort: 'all', basisPoints: 10000 }], start: false });
  await createCohort(s.f, { name: 'qa2', members: ['a', 'b'] });
  for (const a of ['start', 'pause', 'resume', 'advance']) expect((await act(s.f, s.rolloutId, a)).status).toBe(200);
  return s;
}

describe('GET /v1/audit: a hash chain QA can check (protocol §7)', () => {
  it('returns every entry, oldest first, across pages, as a chain verifyAuditChain accepts', async () => {
    const s = await busyLog();
    const { entries, pages } = await fetchAll(s, 2);
    expect(pages).toBeGreaterThan(2);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    expect(verifyAuditChain(entries)).toEqual({ ok: true, checked: entries.length });
    expect(entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['release.publish', 'rollout.create', 'cohort.create', 'rollout.start', 'rollout.pause', 'rollout.resume', 'rollout.advance']),
    );
    const start = entries.find((e) => e.action === 'rollout.start');
    expect(start?.actor).toMatch(/^operator:.*\(release-manager\)$/);
    expect(start?.details).toMatchObject({ from: { state: 'draft' }, to: { state: 'running', stage: 0 } });
  });

  it('a page from the middle verifies from the hash before it', async () => {
    const s = await busyLog();
    const { entries } = await fetchAll(s, 100);
    const res = await request(s.f.app).get('/v1/audit').query({ cursor: '3' }).set(bearer(s.f.tokens.qa));
    const page = (res.body as { entries: AuditEntry[] }).entries;
    expect(page[0]?.seq).toBe(4);
    expect(verifyAuditChain(page, auditLinkHash(entries[2] as AuditEntry)).ok).toBe(true);
    expect(verifyAuditChain(page, entries[2]?.hash).ok).toBe(false);
  });

  it.each([
    ['details', (sql: Sql, seq: number) => tamperAuditDetails(sql, seq, (d) => void ((d.to as Record<string, unknown>).stage = 7))],
    ['actor', (sql: Sql, seq: number) => sql.run("UPDATE audit_log SET actor = 'operator:nobody(admin)' WHERE seq = ?", [seq])],
    ['action', (sql: Sql, seq: number) => sql.run("UPDATE audit_log SET action = 'rollout.cancel' WHERE seq = ?", [seq])],
  ])('tampering with one row (%s) in the database is detected at that seq', async (_what, tamper) => {
    const s = await busyLog();
    const { entries } = await fetchAll(s, 100);
    const target = entries.find((e) => e.action === 'rollout.pause') as AuditEntry;
    await tamper(s.f.ctx.sql, target.seq);
    const after = await fetchAll(s, 100);
    const check = verifyAuditChain(after.entries);
    expect(check.ok).toBe(false);
    expect(check.brokenAt).toBe(target.seq);
    expect(check.checked).toBe(target.seq - 1);
  });

  it('rewriting a row together with its own hash still breaks the link to the next entry', async () => {
    const s = await busyLog();
    const { entries } = await fetchAll(s, 100);
    const target = entries.find((e) => e.action === 'rollout.pause') as AuditEntry;
    const forged = { ...target, actor: 'operator:nobody(admin)' };
    await s.f.ctx.sql.run('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?', [forged.actor, auditEntryHash(forged), target.seq]);
    const check = verifyAuditChain((await fetchAll(s, 100)).entries);
    expect(check.ok).toBe(false);
    expect(check.brokenAt).toBe(target.seq + 1);
  });

  it('rewriting a row together with its own hash and the next entry’s prevHash breaks at the entry after that', async () => {
    const s = await busyLog();
    const { entries } = await fetchAll(s, 100);
    const target = entries.find((e) => e.action === 'rollout.pause') as AuditEntry;
    const next = entries.find((e) => e.seq === target.seq + 1) as AuditEntry;
    const forged = { ...target, actor: 'operator:nobody(admin)' };
    const forgedServed = { ...forged, hash: auditEntryHash(forged) };
    const update = 'UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?';
    await s.f.ctx.sql.run(update, [forged.actor, forged.prevHash, forgedServed.hash, target.seq]);
    // Re-linking the next entry changes its own hash: caught there.
    await s.f.ctx.sql.run(update, [next.actor, auditLinkHash(forgedServed), next.hash, next.seq]);
    expect(verifyAuditChain((await fetchAll(s, 100)).entries)).toMatchObject({ ok: false, brokenAt: next.seq, reason: 'hash does not match the entry' });
  });

  it('a bad cursor is 400, not 500', async () => {
    const s = await busyLog();
    const res = await request(s.f.app).get('/v1/audit').query({ cursor: 'abc' }).set(bearer(s.f.tokens.viewer));
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe('bad_request');
  });
});

/**
 * What a QA tool written from protocol §7 alone does: no project code, only
 * node:crypto and an RFC 8785 (JCS) implementation. Every entry's prevHash is
 * SHA-256(JCS(previous entry exactly as served)), 64 zeros for the first;
 * its hash is SHA-256(JCS(the entry as served without `hash`)).
 */
describe('GET /v1/audit recomputed by a spec-only tool', () => {
  const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
  const jcs = (value: unknown): string => {
    const out = canonicalize(value);
    if (out === undefined) throw new TypeError('no JSON representation');
    return out;
  };

  /** Pages through the raw HTTP bodies, parsed with JSON.parse as any client would. */
  async function served(s: Scenario): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const res = await request(s.f.app).get('/v1/audit').query(cursor === null ? { limit: '3' } : { limit: '3', cursor }).set(bearer(s.f.tokens.qa));
      expect(res.status, res.text).toBe(200);
      const body = JSON.parse(res.text) as { entries: Record<string, unknown>[]; nextCursor: string | null };
      out.push(...body.entries);
      cursor = body.nextCursor;
    } while (cursor !== null);
    return out;
  }

  /** The seq of the first entry whose prevHash or hash differs from the recomputation; null if none does. */
  function firstBroken(entries: readonly Record<string, unknown>[]): number | null {
    let link = '0'.repeat(64);
    for (const entry of entries) {
      const { hash, ...withoutHash } = entry;
      if (entry.prevHash !== link || hash !== sha256(jcs(withoutHash))) return entry.seq as number;
      link = sha256(jcs(entry));
    }
    return null;
  }

  it('SHA-256(JCS(previous entry as served)) is every entry’s prevHash', async () => {
    const s = await busyLog();
    const entries = await served(s);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries[0]?.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]?.prevHash, `prevHash of seq ${String(entries[i]?.seq)}`).toBe(sha256(jcs(entries[i - 1])));
    }
    for (const entry of entries) {
      expect(Object.keys(entry).sort()).toEqual(['action', 'actor', 'at', 'details', 'hash', 'prevHash', 'seq', 'subject']);
      const { hash, ...withoutHash } = entry;
      expect(hash, `hash of seq ${String(entry.seq)}`).toBe(sha256(jcs(withoutHash)));
    }
    expect(firstBroken(entries)).toBeNull();
  });

  it('finds a row rewritten with a recomputed own hash at the next entry, as verifyAuditChain does', async () => {
    const s = await busyLog();
    const before = await served(s);
    const target = before.find((e) => e.action === 'rollout.pause') as Record<string, unknown>;
    const rest: Record<string, unknown> = { ...target, actor: 'operator:nobody(admin)' };
    delete rest.hash;
    await s.f.ctx.sql.run('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?', [rest.actor as string, sha256(jcs(rest)), target.seq as number]);
    const after = await served(s);
    expect(firstBroken(after)).toBe((target.seq as number) + 1);
    expect(verifyAuditChain(after as unknown as AuditEntry[]).brokenAt).toBe((target.seq as number) + 1);
  });
});
