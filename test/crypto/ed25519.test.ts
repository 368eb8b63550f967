import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../server/protocol/crypto/encoding.js';
import { generatePrivateKey, keyIdOf, parsePrivateKey, publicPart } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer, verifyEd25519 } from '../../server/protocol/crypto/signer.js';
import { readVector } from '../helpers/vectors.js';

interface Vector {
  name: string;
  secretSeed: string;
  public: string;
  messageHex: string;
  signature: string;
}

const vectors = JSON.parse(readVector('ed25519', 'rfc8032-7.1.json').toString('utf8')) as Vector[];

describe('Ed25519 (RFC 8032 §7.1, test/vectors/ed25519)', () => {
  it('has the three RFC vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3']);
  });

  it.each(vectors)('$name: the seed yields the public key and the signature', (v) => {
    const key = generatePrivateKey(fromHex(v.secretSeed));
    expect(key.keyval.public).toBe(v.public);
    expect(parsePrivateKey(key)).toEqual(key);
    expect(ed25519Signer(key).sign(fromHex(v.messageHex))).toBe(v.signature);
  });

  it.each(vectors)('$name: the signature verifies, and not over another message or key', (v) => {
    const msg = fromHex(v.messageHex);
    expect(verifyEd25519(v.public, msg, v.signature)).toBe(true);
    expect(verifyEd25519(v.public, new Uint8Array([...msg, 0]), v.signature)).toBe(false);
    const other = vectors.find((o) => o !== v) as Vector;
    expect(verifyEd25519(other.public, msg, v.signature)).toBe(false);
    const flipped = (v.signature[0] === '0' ? '1' : '0') + v.signature.slice(1);
    expect(verifyEd25519(v.public, msg, flipped)).toBe(false);
  });

  it.each(['', 'zz', 'E5'.repeat(64), '00'.repeat(63)])('verifyEd25519 answers false (never throws) for a malformed signature %#', (sig) => {
    const v = vectors[0] as Vector;
    expect(verifyEd25519(v.public, fromHex(v.messageHex), sig)).toBe(false);
  });
});

describe('keyid (protocol §1)', () => {
  it('is the SHA-256 of the JCS bytes of the public key object, checked by hand', () => {
    const v = vectors[0] as Vector;
    const key = generatePrivateKey(fromHex(v.secretSeed));
    const jcs = `{"keytype":"ed25519","keyval":{"public":"${v.public}"},"scheme":"ed25519"}`;
    const expected = createHash('sha256').update(jcs, 'utf8').digest('hex');
    expect(keyIdOf(key)).toBe(expected);
    expect(keyIdOf(publicPart(key))).toBe(expected);
    expect(ed25519Signer(key).keyid).toBe(expected);
  });
});
