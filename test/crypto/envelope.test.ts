import { describe, expect, it } from 'vitest';
import { signedBytes } from '../../server/protocol/crypto/canonical.js';
import { signEnvelope, verifyThreshold, type Envelope, type Signature } from '../../server/protocol/crypto/envelope.js';
import { generatePrivateKey, keyIdOf, publicPart, type PrivateKey, type PublicKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';

const [a, b, c, outsider] = Array.from({ length: 4 }, () => generatePrivateKey()) as [PrivateKey, PrivateKey, PrivateKey, PrivateKey];
const id = (k: PrivateKey) => keyIdOf(k);
const keys: Record<string, PublicKey> = Object.fromEntries([a, b, c].map((k) => [id(k), publicPart(k)]));
/** Keys a and b hold the role; c is a key of another role (present in `keys`, not in the role). */
const role = { keyids: [id(a), id(b)], threshold: 2 };

const signed = { type: 'test', n: 1 };
const sigBy = (k: PrivateKey, body: unknown = signed): Signature => ({ keyid: id(k), sig: ed25519Signer(k).sign(signedBytes(body)) });
const env = (...signatures: Signature[]): Envelope<unknown> => ({ signed, signatures });
const badSig = (k: PrivateKey): Signature => sigBy(k, { type: 'test', n: 2 });

describe('verifyThreshold (protocol §1)', () => {
  it.each([
    { name: 'both role keys', sigs: () => [sigBy(a), sigBy(b)], met: true, valid: 2, reasons: [] },
    { name: 'one role key', sigs: () => [sigBy(a)], met: false, valid: 1, reasons: [] },
    { name: 'the same key twice counts once', sigs: () => [sigBy(a), sigBy(a)], met: false, valid: 1, reasons: ['duplicate_keyid'] },
    { name: 'unknown keyid ignored', sigs: () => [sigBy(a), sigBy(outsider)], met: false, valid: 1, reasons: ['unknown_keyid'] },
    { name: 'wrong-role key not counted', sigs: () => [sigBy(a), sigBy(c)], met: false, valid: 1, reasons: ['unknown_keyid'] },
    { name: 'bad signature ignored', sigs: () => [sigBy(a), badSig(b)], met: false, valid: 1, reasons: ['bad_signature'] },
    { name: 'bad then good signature of one key', sigs: () => [badSig(b), sigBy(b), sigBy(a)], met: true, valid: 2, reasons: ['bad_signature'] },
    { name: 'malformed sig ignored', sigs: () => [sigBy(a), { keyid: id(b), sig: 'not-hex' }], met: false, valid: 1, reasons: ['malformed'] },
    { name: 'upper-case hex is malformed', sigs: () => [sigBy(a), { ...sigBy(b), sig: sigBy(b).sig.toUpperCase() }], met: false, valid: 1, reasons: ['malformed'] },
    { name: 'malformed keyid ignored', sigs: () => [sigBy(a), { keyid: 'b', sig: sigBy(b).sig }], met: false, valid: 1, reasons: ['malformed'] },
    { name: 'a signature copied under another keyid', sigs: () => [sigBy(a), { keyid: id(b), sig: sigBy(a).sig }], met: false, valid: 1, reasons: ['bad_signature'] },
    { name: 'no signatures', sigs: () => [], met: false, valid: 0, reasons: [] },
  ])('$name', ({ sigs, met, valid, reasons }) => {
    const r = verifyThreshold(env(...sigs()), keys, role);
    expect(r.met).toBe(met);
    expect(r.valid).toHaveLength(valid);
    expect(r.ignored.map((i) => i.reason)).toEqual(reasons);
    expect(r.threshold).toBe(2);
  });

  it('a threshold of 0 is never met', () => {
    expect(verifyThreshold(env(sigBy(a)), keys, { keyids: [id(a)], threshold: 0 }).met).toBe(false);
  });

  it('verifies over the JCS bytes, so key order in `signed` does not matter', () => {
    const e = { signed: { n: 1, type: 'test' }, signatures: [sigBy(a), sigBy(b)] };
    expect(verifyThreshold(e, keys, role).met).toBe(true);
  });
});

describe('signEnvelope', () => {
  it('adds one signature per signer and replaces (never duplicates) a keyid that signed again', () => {
    const once = signEnvelope({ signed }, [ed25519Signer(a)]);
    const twice = signEnvelope(once, [ed25519Signer(a), ed25519Signer(b)]);
    expect(twice.signatures.map((s) => s.keyid)).toEqual([id(a), id(b)]);
    expect(verifyThreshold(twice, keys, role).met).toBe(true);
  });

  it('refuses to sign a body carrying a float', () => {
    expect(() => signEnvelope({ signed: { x: 0.5 } }, [ed25519Signer(a)])).toThrow(/integers only/);
  });
});
