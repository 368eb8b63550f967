import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { GENESIS_HASH, auditEntryHash, auditLinkHash, type AuditEntry } from '../../server/audit/audit-chain.js';
import { bucketOf } from '../../server/protocol/bucket.js';
import { checkAudit } from '../../server/programs/qa/audit-checks.js';
import { checkEligibility, checkStatusMatchesDevices, checkStatusSettings, consentBreach, DeviceSurvey } from '../../server/programs/qa/device-checks.js';
import type { RolloutView, StatusView } from '../../server/programs/qa/server-views.js';
import { checkPolicy, checkRelease, checkRootChain, checkStatements } from '../../server/programs/qa/trust-checks.js';
import { manifestSha256 } from '../../server/protocol/release-manifest.js';
import { makeKeys, nextRoot, POLICY, SALT, signedRelease, statementFor } from '../agent/agent-fixtures.js';
import { signWith } from '../helpers/fixtures.js';

const NOW = new Date('2026-11-24T11:30:00Z');
const keys = makeKeys();
const release = signedRelease(keys);

function rolloutWith(statements: unknown[], over: Partial<RolloutView> = {}): RolloutView {
  return {
    id: 'optin-rollout', releaseId: release.signed.id, salt: SALT, state: 'running', currentStage: 0,
    stages: [{ cohort: 'all', basisPoints: 10000 }], statements, ...over,
  };
}

const served = (chain: unknown[]) => ({
  version: async (n: number) => chain[n - 1],
  current: async () => chain[chain.length - 1],
});

describe('root chain (protocol §2, TUF rules)', () => {
  it('walks a genuine rotation v1 → v2 and refuses a forged v2', async () => {
    const v2 = nextRoot(keys.rootEnvelope.signed, keys.root);
    const good = served([keys.rootEnvelope, v2]);
    const ok = await checkRootChain(good.version, good.current, keys.rootEnvelope, NOW);
    expect(ok.check).toMatchObject({ verdict: 'PASS', message: expect.stringContaining('v1 → v2') });
    expect(ok.root.version).toBe(2);

    const forged = nextRoot(keys.rootEnvelope.signed, [generatePrivateKey()]);
    const bad = served([keys.rootEnvelope, forged]);
    const refused = await checkRootChain(bad.version, bad.current, keys.rootEnvelope, NOW);
    expect(refused.check.verdict).toBe('FAIL');
    expect(refused.check.message).toMatch(/root v2 is refused by the TUF rules/);
    expect(refused.root.version).toBe(1);
  });

  it('fails when GET /v1/trust/root serves something else than the newest root of the chain', async () => {
    const r = await checkRootChain(async () => undefined, async () => ({ not: 'a root' }), keys.rootEnvelope, NOW);
    expect(r.check).toMatchObject({ verdict: 'FAIL', details: [expect.stringMatching(/does not serve root v1/)] });
  });

  it('refuses a policy not signed by the root role', () => {
    expect(checkPolicy(keys.rootEnvelope.signed, keys.policy).check.verdict).toBe('PASS');
    const byRelease = signWith(POLICY, keys.release);
    expect(checkPolicy(keys.rootEnvelope.signed, byRelease).check).toMatchObject({ verdict: 'FAIL', message: expect.stringMatching(/not signed by the root role/) });
  });
});

describe('release and statements (protocol §4, §6)', () => {
  it('a release below the release threshold fails; a lying manifestSha256 claim fails', () => {
    const unsigned = { release: { ...release, signatures: [] }, manifestSha256: manifestSha256(release.signed) };
    const checks = checkRelease(keys.rootEnvelope.signed, unsigned, rolloutWith([]), NOW).checks;
    expect(checks.find((c) => c.name === 'release-signatures')?.verdict).toBe('FAIL');
    const lying = checkRelease(keys.rootEnvelope.signed, { release, manifestSha256: '00'.repeat(32) }, rolloutWith([]), NOW).checks;
    expect(lying.find((c) => c.name === 'release-manifest')).toMatchObject({ verdict: 'FAIL', details: [expect.stringMatching(/SHA-256\(JCS\(signed\)\) is/)] });
  });

  it('healthy statements pass; mix-and-match, a foreign signer, another basisPoints and a missing stage each fail by name', () => {
    const digest = manifestSha256(release.signed);
    const good = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release)]), digest, NOW);
    expect(good.checks.map((c) => c.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);
    expect(good.byStage.get(0)?.basisPoints).toBe(10000);

    const other = signedRelease(keys, { id: 'other-release' });
    const mixed = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, other)]), digest, NOW);
    expect(mixed.checks.find((c) => c.name === 'statement-binding')?.verdict).toBe('FAIL');

    const forged = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release, {}, generatePrivateKey())]), digest, NOW);
    expect(forged.checks.find((c) => c.name === 'statement-signatures')?.verdict).toBe('FAIL');
    expect(forged.byStage.size).toBe(0);

    const widened = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release)], { stages: [{ cohort: 'all', basisPoints: 500 }] }), digest, NOW);
    expect(widened.checks.find((c) => c.name === 'statement-rule')).toMatchObject({ verdict: 'FAIL', details: [expect.stringMatching(/basisPoints 10000, the rollout's stage says 500/)] });

    const missing = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release)], {
      currentStage: 1, stages: [{ cohort: 'all', basisPoints: 10000 }, { cohort: 'all', basisPoints: 10000 }],
    }), digest, NOW);
    expect(missing.checks.find((c) => c.name === 'statement-rule')).toMatchObject({ verdict: 'FAIL', details: [expect.stringMatching(/stage 2 \(index 1\) was reached but has no valid statement/)] });

    const late = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release)]), digest, new Date('2026-11-24T13:00:00Z'));
    expect(late.checks.find((c) => c.name === 'statement-expiry')?.verdict).toBe('FAIL');
    const halted = checkStatements(keys.rootEnvelope.signed, rolloutWith([statementFor(keys, release)], { state: 'halted' }), digest, new Date('2026-11-24T13:00:00Z'));
    expect(halted.checks.find((c) => c.name === 'statement-expiry')?.verdict).toBe('PASS');
  });
});

describe('devices (protocol §3, §5)', () => {
  const statement = statementFor(keys, release, { basisPoints: 5000 }).signed;
  const ids = Array.from({ length: 400 }, (_, i) => `dev-${i}`);
  const inside = ids.filter((id) => bucketOf(SALT, id) < 5000);
  const outside = ids.filter((id) => bucketOf(SALT, id) >= 5000);

  it('recomputes each sampled device\'s bucket from the signed statement', () => {
    const survey = new DeviceSurvey(0, 's', new Set(), POLICY);
    for (const id of inside) survey.add({ deviceId: id, stage: 0, state: 'applied', settings: null });
    expect(checkEligibility(survey, new Map([[0, statement]])).verdict).toBe('PASS');
    survey.add({ deviceId: outside[0] as string, stage: 0, state: 'applied', settings: null });
    survey.add({ deviceId: inside[0] as string, stage: 3, state: 'applied', settings: null });
    const check = checkEligibility(survey, new Map([[0, statement]]));
    expect(check.verdict).toBe('FAIL');
    expect(check.details).toEqual([
      expect.stringMatching(new RegExp(`^${outside[0]}: recorded at stage 1 \\(index 0\\), but bucket \\d+ is not below its 5000 basis points \\(50\\.00%\\)$`)),
      `${inside[0]}: recorded at stage 4 (index 3), which has no valid signed statement`,
    ]);
  });

  it('samples a seeded subset: the same seed gives the same devices', () => {
    const sampleOf = (seed: string) => {
      const survey = new DeviceSurvey(10, seed, new Set(), undefined);
      for (const id of ids) survey.add({ deviceId: id, stage: 0, state: 'applied', settings: null });
      return survey.sample.map((d) => d.deviceId);
    };
    expect(sampleOf('a')).toHaveLength(10);
    expect(sampleOf('a')).toEqual(sampleOf('a'));
    expect(sampleOf('a')).not.toEqual(sampleOf('b'));
    expect(sampleOf('a')).not.toEqual(ids.slice(0, 10));
  });

  it('a consent setting off its safe value is a breach unless the user chose it', () => {
    expect(consentBreach(POLICY, 'cloud.messaging.enabled', true, 'default')).toMatch(/consent setting/);
    expect(consentBreach(POLICY, 'cloud.messaging.enabled', true, 'user')).toBeUndefined();
    expect(consentBreach(POLICY, 'cloud.messaging.enabled', false, 'default')).toBeUndefined();
    expect(consentBreach(POLICY, 'display.brightness.auto', true, 'default')).toBeUndefined();
  });

  it('compares the status counters with a recount of the device list, only when the status held still', () => {
    const survey = new DeviceSurvey(0, 's', new Set(['cloud.messaging.enabled']), POLICY);
    survey.add({ deviceId: 'a', stage: 0, state: 'applied', settings: { 'cloud.messaging.enabled': { value: false, source: 'default' } } });
    survey.add({ deviceId: 'b', stage: 0, state: 'silent', settings: null });
    const status: StatusView = { state: 'running', offered: 2, counts: { applied: 1, failed: 0 }, settings: { 'cloud.messaging.enabled': [{ value: false, source: 'default', devices: 1 }] } };
    expect(checkStatusMatchesDevices(survey, status, true).verdict).toBe('PASS');
    expect(checkStatusMatchesDevices(survey, { ...status, counts: { applied: 2 } }, true)).toMatchObject({ verdict: 'FAIL', details: ['state applied: status counts 2, the device list has 1'] });
    expect(checkStatusMatchesDevices(survey, { ...status, offered: 5 }, false).verdict).toBe('SKIP');
  });

  it('a status row lumping the values past the counted ones (value null, other: true) is compared per source and never judged a breach', () => {
    const key = 'display.font.scale';
    const survey = new DeviceSurvey(0, 's', new Set([key]), POLICY);
    for (const [id, value] of [['a', 1], ['b', 2], ['c', 3]] as const) survey.add({ deviceId: id, stage: 0, state: 'applied', settings: { [key]: { value, source: 'default' } } });
    const status: StatusView = {
      state: 'running', offered: 3, counts: { applied: 3 },
      settings: { [key]: [{ value: 1, source: 'default', devices: 1 }, { value: null, source: 'default', devices: 2, other: true }] },
    };
    expect(checkStatusMatchesDevices(survey, status, true).verdict).toBe('PASS');
    expect(checkStatusSettings(status, POLICY).verdict).toBe('PASS');
    const short: StatusView = { ...status, settings: { [key]: [{ value: null, source: 'default', devices: 2, other: true }] } };
    expect(checkStatusMatchesDevices(survey, short, true)).toMatchObject({ verdict: 'FAIL', details: [`${key} default: status counts 2, the device list has 3`] });
  });
});

describe('audit chain (protocol §7)', () => {
  function chain(n: number): AuditEntry[] {
    const out: AuditEntry[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= n; seq++) {
      const base = { seq, at: '2026-11-24T10:00:00Z', actor: 'test', action: seq === 1 ? 'rollout.create' : 'rollout.start', subject: 'optin-rollout',
        details: seq === 1 ? {} : { from: { state: 'draft', stage: 0 }, to: { state: 'running', stage: 0 } }, prevHash: prev };
      const e = { ...base, hash: auditEntryHash(base) };
      out.push(e);
      prev = auditLinkHash(e);
    }
    return out;
  }
  async function* pagesOf(entries: AuditEntry[], size: number) {
    for (let i = 0; i < entries.length; i += size) yield entries.slice(i, i + size);
  }

  it('links pages from the genesis hash and names the first broken entry', async () => {
    const entries = chain(7);
    expect((await checkAudit(pagesOf(entries, 3), rolloutWith([]))).map((c) => c.verdict)).toEqual(['PASS', 'PASS']);
    const tampered = entries.map((e) => (e.seq === 5 ? { ...e, details: { x: 1 } } : e));
    const [broken] = await checkAudit(pagesOf(tampered, 3), rolloutWith([]));
    expect(broken?.message).toBe('the audit hash chain is broken at seq 5: hash does not match the entry');
    const gap = entries.filter((e) => e.seq !== 4);
    expect((await checkAudit(pagesOf(gap, 3), rolloutWith([])))[0]?.verdict).toBe('FAIL');
  });

  it('carries the link across pages: a re-hashed forgery at the end of a page breaks at the first entry of the next', async () => {
    const entries = chain(7);
    const forged = entries.map((e) => {
      if (e.seq !== 3) return e;
      const body = { ...e, actor: 'someone-else' };
      return { ...body, hash: auditEntryHash(body) };
    });
    const [broken] = await checkAudit(pagesOf(forged, 3), rolloutWith([]));
    expect(broken?.message).toBe('the audit hash chain is broken at seq 4: prevHash does not match the previous entry');
  });

  it('fails when the rollout state disagrees with its latest audit entry', async () => {
    const [, trail] = await checkAudit(pagesOf(chain(2), 10), rolloutWith([], { state: 'completed' }));
    expect(trail).toMatchObject({ verdict: 'FAIL', message: 'the rollout changed without an audit record' });
  });
});
