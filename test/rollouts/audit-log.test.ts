import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { auditEntryHash, GENESIS_HASH, verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { bearer } from '../helpers/fixtures.js';
import { act, createCohort } from '../helpers/fleet.js';
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
    expect(verifyAuditChain(page, entries[2]?.hash).ok).toBe(true);
  });

  it.each([
    ['details', (db: Scenario['f']['ctx']['db']) => db.prepare("UPDATE audit_log SET details = json_set(details, '$.to.stage', 7) WHERE seq = ?")],
    ['actor', (db: Scenario['f']['ctx']['db']) => db.prepare("UPDATE audit_log SET actor = 'operator:nobody(admin)' WHERE seq = ?")],
    ['action', (db: Scenario['f']['ctx']['db']) => db.prepare("UPDATE audit_log SET action = 'rollout.cancel' WHERE seq = ?")],
  ])('tampering with one row (%s) in SQLite is detected at that seq', async (_what, tamper) => {
    const s = await busyLog();
    const { entries } = await fetchAll(s, 100);
    const target = entries.find((e) => e.action === 'rollout.pause') as AuditEntry;
    tamper(s.f.ctx.db).run(target.seq);
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
    s.f.ctx.db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?').run(forged.actor, auditEntryHash(forged), target.seq);
    const check = verifyAuditChain((await fetchAll(s, 100)).entries);
    expect(check.ok).toBe(false);
    expect(check.brokenAt).toBe(target.seq + 1);
  });

  it('a bad cursor is 400, not 500', async () => {
    const s = await busyLog();
    const res = await request(s.f.app).get('/v1/audit').query({ cursor: 'abc' }).set(bearer(s.f.tokens.viewer));
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe('bad_request');
  });
});
