import { describe, expect, it } from 'vitest';
import { auditEntryHash, verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { OPERATOR_ROLES } from '../../server/auth/principal.js';
import { verifyChain } from '../../server/dashboard/web/src/audit-verify.js';
import { actionAllowed } from '../../server/rollouts/rollout-permissions.js';
import { ROLLOUT_ACTIONS, ROLLOUT_STATES } from '../../server/rollouts/rollout-state.js';
import { makeApp } from '../helpers/fixtures.js';

describe('which buttons the dashboard enables (the routes enforce the same table)', () => {
  const enabled = (role: (typeof OPERATOR_ROLES)[number], state: (typeof ROLLOUT_STATES)[number], stage = 0) =>
    ROLLOUT_ACTIONS.filter((a) => actionAllowed(role, a, state, stage, 3));
  it.each([
    ['release-manager', 'draft', ['start', 'cancel']],
    ['release-manager', 'running', ['pause', 'advance', 'halt', 'cancel']],
    ['release-manager', 'paused', ['resume', 'halt', 'cancel']],
    // protocol §5: a halted rollout is resumed with an acknowledgement and a reason.
    ['release-manager', 'halted', ['resume', 'cancel']],
    ['release-manager', 'completed', ['cancel']],
    ['release-manager', 'cancelled', []],
    ['qa', 'draft', []],
    ['qa', 'running', ['pause', 'halt']],
    ['qa', 'paused', ['halt']],
    ['qa', 'halted', []],
    ['viewer', 'running', []],
    ['enroller', 'running', []],
    ['admin', 'halted', ['resume', 'cancel']],
  ] as const)('%s on a %s rollout: %j', (role, state, want) => {
    expect(enabled(role, state)).toEqual(want);
  });
});

describe('the browser chain check (WebCrypto) agrees with the server', () => {
  async function chain(): Promise<AuditEntry[]> {
    const f = await makeApp();
    await f.ctx.sql.transaction(async () => {
      for (let i = 0; i < 5; i++) (await f.ctx.audit.append({ actor: 'test', action: 'x', subject: `s${i}`, details: { i, text: '<b>é</b>' } }, '2026-11-24T12:00:00Z'));
    });
    return await f.ctx.audit.page(0, 100);
  }

  it('verifies an intact chain and names the first broken entry of each kind of tampering', async () => {
    const entries = await chain();
    expect(await verifyChain(entries)).toEqual({ ok: true, checked: 5, lastSeq: 5 });
    expect(verifyAuditChain(entries).ok).toBe(true);

    const inPlace = entries.map((e) => (e.seq === 3 ? { ...e, actor: 'someone-else' } : e));
    expect(await verifyChain(inPlace)).toMatchObject({ ok: false, brokenAt: 3, reason: 'its hash does not match its contents' });
    expect(verifyAuditChain(inPlace).brokenAt).toBe(3);

    const rehashed = entries.map((e) => (e.seq === 3 ? (() => { const x = { ...e, actor: 'someone-else' }; return { ...x, hash: auditEntryHash(x) }; })() : e));
    expect(await verifyChain(rehashed)).toMatchObject({ ok: false, brokenAt: 4, reason: 'its prevHash does not match the previous entry' });
    expect(verifyAuditChain(rehashed).brokenAt).toBe(4);

    const deleted = entries.filter((e) => e.seq !== 2);
    expect(await verifyChain(deleted)).toMatchObject({ ok: false, brokenAt: 3 });
    expect(await verifyChain([])).toEqual({ ok: true, checked: 0, lastSeq: null });
  });
});
