import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { bucketOf } from '../../server/protocol/bucket.js';
import { VerifyCache } from '../../server/programs/agent/verify-cache.js';
import { verifyOffer, type VerifyResult } from '../../server/programs/agent/verify-offer.js';
import { contextOf, DEVICE, image, makeKeys, NOW, offerOf, SALT, signedRelease, statementFor } from './agent-fixtures.js';

const keys = makeKeys();
const codes = (v: VerifyResult) => (v.ok ? [] : v.reasons.map((r) => r.code));
const IMAGE = { version: '1.4.3', artifact: image('os-1.4.3').artifact, settings: [] };

describe('verifyOffer (protocol §2–§6, pure)', () => {
  it('accepts a genuine offer and returns the verified documents', () => {
    const v = verifyOffer(offerOf(keys), contextOf(keys), NOW);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.ids).toEqual({ releaseId: 'redmi-1s-cloud-optin-2014-08', rolloutId: 'optin-rollout' });
  });

  it('refuses a forged or missing release signature, and a threshold not met', () => {
    const attacker = generatePrivateKey();
    const forged = signedRelease(keys, {}, [attacker]);
    expect(codes(verifyOffer({ release: forged, rollout: statementFor(keys, forged) }, contextOf(keys), NOW))).toEqual(['signature_invalid']);
    const bare = { ...signedRelease(keys), signatures: [] };
    expect(codes(verifyOffer({ release: bare, rollout: statementFor(keys, bare) }, contextOf(keys), NOW))).toEqual(['signature_invalid']);
    const two = makeKeys({ releaseKeys: 2, releaseThreshold: 2 });
    const half = signedRelease(two, {}, [two.release[0]!]);
    expect(codes(verifyOffer({ release: half, rollout: statementFor(two, half) }, contextOf(two), NOW))).toEqual(['threshold_not_met']);
  });

  it('refuses a statement not signed by the online role', () => {
    const r = signedRelease(keys);
    const v = verifyOffer({ release: r, rollout: statementFor(keys, r, {}, keys.release[0]) }, contextOf(keys), NOW);
    expect(codes(v)).toEqual(['statement_signature_invalid']);
    expect(v.observed.statement).toBeUndefined();
  });

  it('refuses mix-and-match: a genuine statement for another manifest or release id', () => {
    const a = signedRelease(keys, { notes: 'a' });
    const b = signedRelease(keys, { notes: 'b' });
    expect(codes(verifyOffer({ release: a, rollout: statementFor(keys, b) }, contextOf(keys), NOW))).toEqual(['manifest_mismatch']);
    expect(codes(verifyOffer({ release: a, rollout: statementFor(keys, a, { releaseId: 'other' }) }, contextOf(keys), NOW))).toEqual(['manifest_mismatch']);
  });

  it('refuses an expired statement, allowing the configured clock skew', () => {
    const offer = offerOf(keys, {}, { expires: '2026-11-24T11:27:00Z' });
    expect(codes(verifyOffer(offer, contextOf(keys), NOW))).toEqual([]);
    expect(codes(verifyOffer(offer, contextOf(keys), NOW, { skewMs: 60_000 }))).toEqual(['statement_expired']);
    expect(codes(verifyOffer(offer, contextOf(keys), new Date('2026-11-24T11:32:00Z')))).toEqual(['statement_expired']);
  });

  it('never lets now go below the newest verified issuedAt (a device without a clock)', () => {
    const offer = offerOf(keys);
    const epoch = new Date(0);
    expect(codes(verifyOffer(offer, contextOf(keys), epoch))).toEqual([]);
    expect(codes(verifyOffer(offer, contextOf(keys, { timeFloor: '2026-11-24T13:00:00Z' }), epoch))).toEqual(['statement_expired']);
  });

  it('refuses a replayed older statement version, accepts the same one again', () => {
    const offer = offerOf(keys, {}, { version: 2 });
    expect(codes(verifyOffer(offer, contextOf(keys, { seenStatementVersions: { 'optin-rollout': 3 } }), NOW))).toEqual(['statement_replayed']);
    expect(codes(verifyOffer(offer, contextOf(keys, { seenStatementVersions: { 'optin-rollout': 2 } }), NOW))).toEqual([]);
  });

  it('records what genuine signatures prove, even for a refused offer', () => {
    const v = verifyOffer(offerOf(keys, {}, { version: 7, basisPoints: 0 }), contextOf(keys), NOW);
    expect(codes(v)).toEqual(['not_in_bucket']);
    expect(v.observed).toEqual({ statement: { rolloutId: 'optin-rollout', version: 7 }, time: '2026-11-24T11:00:00Z' });
  });

  it('runs its own bucket test against the statement', () => {
    const b = bucketOf(SALT, DEVICE.deviceId);
    const refused = verifyOffer(offerOf(keys, {}, { basisPoints: b }), contextOf(keys), NOW);
    expect(codes(refused)).toEqual(['not_in_bucket']);
    // People read this message (`ota rollout devices`): stages numbered from 1, with the statement's 0-based index (issue 18).
    expect(refused.ok ? [] : refused.reasons.map((r) => r.message)).toEqual([`device is not within the ${b} basis points of stage 1 (index 0)`]);
    expect(codes(verifyOffer(offerOf(keys, {}, { basisPoints: b + 1 }), contextOf(keys), NOW))).toEqual([]);
  });

  it('checks model, appliesTo and release expiry', () => {
    expect(codes(verifyOffer(offerOf(keys, { models: ['mi-3'] }), contextOf(keys), NOW))).toEqual(['model_mismatch']);
    expect(codes(verifyOffer(offerOf(keys, { appliesTo: '>=1.5.0' }), contextOf(keys), NOW))).toEqual(['version_not_applicable']);
    expect(codes(verifyOffer(offerOf(keys, { expires: '2026-11-24T11:00:00Z' }), contextOf(keys), NOW))).toEqual(['release_expired']);
  });

  it('anti-rollback: older or same version refused unless downgrade is signed', () => {
    const older = { ...IMAGE, version: '1.4.0', appliesTo: '>=1.4.0' };
    expect(codes(verifyOffer(offerOf(keys, older), contextOf(keys), NOW))).toEqual(['rollback']);
    expect(codes(verifyOffer(offerOf(keys, { ...older, downgrade: true }), contextOf(keys), NOW))).toEqual([]);
    expect(codes(verifyOffer(offerOf(keys, { ...IMAGE, version: '1.4.1' }), contextOf(keys), NOW))).toEqual(['already_installed']);
    expect(codes(verifyOffer(offerOf(keys, IMAGE), contextOf(keys), NOW))).toEqual([]);
  });

  it('settings-only releases: at most once, never older than the newest applied', () => {
    const offer = offerOf(keys);
    expect(codes(verifyOffer(offer, contextOf(keys, { settingsOnly: { applied: ['redmi-1s-cloud-optin-2014-08'] } }), NOW))).toEqual(['already_applied']);
    expect(codes(verifyOffer(offer, contextOf(keys, { settingsOnly: { applied: ['x'], newestIssuedAt: '2026-11-24T10:30:00Z' } }), NOW))).toEqual(['settings_superseded']);
    expect(codes(verifyOffer(offer, contextOf(keys, { settingsOnly: { applied: ['x'], newestIssuedAt: '2026-11-24T10:00:00Z' } }), NOW))).toEqual([]);
  });

  it('re-checks the release against the device policy (P1, P2)', () => {
    const enable = offerOf(keys, { settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'reset' }] });
    const v = verifyOffer(enable, contextOf(keys), NOW);
    expect(codes(v)).toEqual(['policy_violation']);
    expect(v.ok ? '' : v.reasons[0]?.message).toMatch(/^P2 cloud\.messaging\.enabled/);
    expect(codes(verifyOffer(offerOf(keys, { settings: [{ key: 'made.up', value: 1, mode: 'default' }] }), contextOf(keys), NOW))).toEqual(['policy_violation']);
    expect(codes(verifyOffer(offerOf(keys), contextOf(keys, { policy: undefined }), NOW))).toEqual(['policy_unavailable']);
  });

  it('refuses everything while trust is broken, and malformed offers', () => {
    const problem = { code: 'root_chain_invalid' as const, message: 'forged' };
    expect(codes(verifyOffer(offerOf(keys), contextOf(keys, { trustProblems: [problem] }), NOW))).toEqual(['root_chain_invalid']);
    const v = verifyOffer({ release: { signed: {} }, rollout: 1 }, contextOf(keys), NOW);
    expect(codes(v)).toEqual(['malformed_offer']);
    expect(v.ids).toEqual({ releaseId: undefined, rolloutId: undefined });
  });

  it('a shared cache gives the same answers and never mixes up keys', () => {
    const cache = new VerifyCache();
    const offer = offerOf(keys);
    expect(verifyOffer(offer, contextOf(keys), NOW, { cache }).ok).toBe(true);
    expect(verifyOffer(offer, contextOf(keys), NOW, { cache }).ok).toBe(true);
    expect(cache.hits).toBeGreaterThanOrEqual(3);
    const other = makeKeys();
    expect(codes(verifyOffer(offer, contextOf(other), NOW, { cache }))).toEqual(['signature_invalid', 'statement_signature_invalid']);
  });
});
