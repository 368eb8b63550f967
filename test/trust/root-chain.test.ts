import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { generatePrivateKey, keyIdOf, publicPart, type PrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { AppError } from '../../server/errors.js';
import { buildRoot, signRotation } from '../../server/protocol/trust/build.js';
import { checkNextRoot, parseRoot, RootChainError, verifyForRole, walkRootChain, type RootEnvelope, type RootSigned } from '../../server/protocol/trust/root.js';
import { FUTURE } from '../helpers/fixtures.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const PAST = '2026-01-01T00:00:00Z';
const gen = (n: number) => Array.from({ length: n }, () => generatePrivateKey());
const signers = (keys: PrivateKey[]) => keys.map(ed25519Signer);

const release = gen(1);
const online = gen(1);
const rootBody = (version: number, rootKeys: PrivateKey[], threshold: number, expires = FUTURE): RootSigned =>
  buildRoot({ version, expires, roles: { root: { keys: rootKeys, threshold }, release: { keys: release, threshold: 1 }, online: { keys: online, threshold: 1 } } });

/** Three generations of root keys (2-of-2 each), rotated 1 → 2 → 3. */
const k1 = gen(2);
const k2 = gen(2);
const k3 = gen(2);
const v1 = rootBody(1, k1, 2);
const chain = (opts: { v2Expires?: string; v3Expires?: string } = {}): RootEnvelope[] => [
  signRotation(rootBody(2, k2, 2, opts.v2Expires), signers(k1), signers(k2)),
  signRotation(rootBody(3, k3, 2, opts.v3Expires), signers(k2), signers(k3)),
];

function chainError(fn: () => unknown): RootChainError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RootChainError) return e;
    throw e;
  }
  throw new Error('expected the chain to be refused');
}

describe('root rotation (protocol §2, TUF 5.3)', () => {
  it('1 → 2 → 3 verifies and ends at v3', () => {
    const trusted = walkRootChain(v1, chain().map((r) => parseRoot(r)), NOW);
    expect(trusted.version).toBe(3);
    expect(trusted.roles.root.keyids.sort()).toEqual(k3.map((k) => keyIdOf(k)).sort());
  });

  it('refuses a v3 signed only by its new keys', () => {
    const [v2] = chain() as [RootEnvelope];
    const v3 = signEnvelope({ signed: rootBody(3, k3, 2) }, signers(k3));
    const err = chainError(() => walkRootChain(v1, [v2, v3], NOW));
    expect(err.message).toMatch(/root v3 refused/);
    expect(err.reasons.join('\n')).toMatch(/not signed by root v2/);
  });

  it('refuses a v3 signed only by the old keys', () => {
    const [v2] = chain() as [RootEnvelope];
    const v3 = signEnvelope({ signed: rootBody(3, k3, 2) }, signers(k2));
    expect(chainError(() => walkRootChain(v1, [v2, v3], NOW)).reasons.join('\n')).toMatch(/not signed by its own root keys/);
  });

  it('refuses a v3 signed by only one of two old keys (threshold 2)', () => {
    const [v2] = chain() as [RootEnvelope];
    const v3 = signRotation(rootBody(3, k3, 2), signers(k2.slice(0, 1)), signers(k3));
    expect(chainError(() => walkRootChain(v1, [v2, v3], NOW)).reasons).toHaveLength(1);
  });

  it('refuses a skipped version (1 → 3), even when properly signed', () => {
    const v3 = signRotation(rootBody(3, k3, 2), signers(k1), signers(k3));
    const err = chainError(() => walkRootChain(v1, [v3], NOW));
    expect(err.reasons.join('\n')).toMatch(/does not follow trusted version 1/);
  });

  it('refuses a repeated version (2 → 2)', () => {
    const [v2] = chain() as [RootEnvelope];
    const again = signRotation(rootBody(2, k2, 2), signers(k2), signers(k2));
    expect(chainError(() => walkRootChain(v1, [v2, again], NOW)).reasons.join('\n')).toMatch(/does not follow/);
  });

  it('accepts an expired intermediate root that is not the newest', () => {
    expect(walkRootChain(v1, chain({ v2Expires: PAST }), NOW).version).toBe(3);
  });

  it('refuses an expired newest root', () => {
    const err = chainError(() => walkRootChain(v1, chain({ v3Expires: PAST }), NOW));
    expect(err.message).toMatch(/root v3 expired/);
  });

  it('refuses an expired pinned root when nothing newer arrives', () => {
    expect(() => walkRootChain(rootBody(1, k1, 2, PAST), [], NOW)).toThrow(RootChainError);
  });

  it('checkNextRoot lists every reason at once', () => {
    const bogus = signEnvelope({ signed: rootBody(5, k3, 2) }, []);
    expect(checkNextRoot(v1, bogus)).toHaveLength(3);
  });
});

describe('parseRoot', () => {
  const good = () => JSON.parse(JSON.stringify(signEnvelope({ signed: v1 }, signers(k1)))) as RootEnvelope;

  function details(value: unknown): string[] {
    try {
      parseRoot(value);
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('validation_failed');
      return ((e as AppError).details ?? []).map((d) => `${d.path ?? ''} ${d.message}`);
    }
    throw new Error('expected parseRoot to refuse');
  }

  it('accepts a well-formed root', () => {
    expect(parseRoot(good()).signed.version).toBe(1);
  });

  it('refuses a key listed under a keyid that is not its SHA-256', () => {
    const r = good();
    const [id0, id1] = Object.keys(r.signed.keys) as [string, string];
    const swapped = r.signed.keys[id1];
    r.signed.keys[id1] = r.signed.keys[id0] as (typeof r.signed.keys)[string];
    r.signed.keys[id0] = swapped as (typeof r.signed.keys)[string];
    const d = details(r);
    expect(d).toHaveLength(2);
    expect(d[0]).toMatch(/keyid is not the SHA-256/);
  });

  it('refuses a role naming a key that is not in keys', () => {
    const r = good();
    const stranger = keyIdOf(publicPart(generatePrivateKey()));
    r.signed.roles.release.keyids.push(stranger);
    expect(details(r).join('\n')).toMatch(new RegExp(`/signed/roles/release keyid ${stranger} is not in keys`));
  });

  it('refuses a threshold that can never be met', () => {
    const r = good();
    r.signed.roles.online.threshold = 2;
    expect(details(r).join('\n')).toMatch(/threshold exceeds/);
  });

  it('parses a non-hex signature, which verification then ignores (protocol §1: never counted)', () => {
    const r = good();
    (r.signatures[0] as { sig: string }).sig = 'zz';
    expect(() => parseRoot(r)).not.toThrow();
    expect(verifyForRole(r.signed, 'root', r).met).toBe(false);
  });

  it.each([
    ['a missing role', (r: RootEnvelope) => delete (r.signed.roles as Partial<RootSigned['roles']>).online],
    ['an unknown member', (r: RootEnvelope) => Object.assign(r.signed, { extra: 1 })],
    ['a threshold of 0', (r: RootEnvelope) => (r.signed.roles.root.threshold = 0)],
    ['a signature that is not a string', (r: RootEnvelope) => ((r.signatures[0] as unknown as { sig: number }).sig = 12)],
  ])('refuses %s (schema)', (_name, mutate) => {
    const r = good();
    mutate(r);
    expect(details(r).length).toBeGreaterThan(0);
  });
});
