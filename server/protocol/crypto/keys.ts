import nacl from 'tweetnacl';
import { canonicalJson } from './canonical.js';
import { fromHex, isHex, toHex } from './encoding.js';
import { sha256Hex } from './hash.js';

/** protocol §1: the public key object, also the format of files under keys/. */
export interface PublicKey {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string };
}

/** protocol §1: private key file = public key object + keyval.private (32-byte seed, hex). */
export interface PrivateKey {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string; private: string };
}

export class KeyFormatError extends TypeError {}

/** keyid = hex SHA-256 of the JCS bytes of the public key object. */
export const keyIdOf = (key: PublicKey): string => sha256Hex(canonicalJson(publicPart(key)));

export const publicPart = (key: PublicKey | PrivateKey): PublicKey => ({
  keytype: 'ed25519',
  scheme: 'ed25519',
  keyval: { public: key.keyval.public },
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a public key object as other tools write it; extra keyval members are ignored. */
export function parsePublicKey(value: unknown): PublicKey {
  if (!isObject(value) || value.keytype !== 'ed25519' || value.scheme !== 'ed25519' || !isObject(value.keyval)) {
    throw new KeyFormatError('not an ed25519 key object (keytype, scheme and keyval must be as protocol §1)');
  }
  const pub = value.keyval.public;
  if (!isHex(pub, 32)) throw new KeyFormatError('keyval.public must be 64 lower-case hex characters');
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pub } };
}

/** Parses a private key file and checks that its seed really yields its public key. */
export function parsePrivateKey(value: unknown): PrivateKey {
  const pub = parsePublicKey(value);
  const seed = (value as { keyval: Record<string, unknown> }).keyval.private;
  if (!isHex(seed, 32)) throw new KeyFormatError('keyval.private must be the 32-byte seed as 64 lower-case hex characters');
  const derived = toHex(nacl.sign.keyPair.fromSeed(fromHex(seed)).publicKey);
  if (derived !== pub.keyval.public) throw new KeyFormatError('keyval.private does not belong to keyval.public');
  return { ...pub, keyval: { public: pub.keyval.public, private: seed } };
}

export function generatePrivateKey(seed: Uint8Array = nacl.randomBytes(32)): PrivateKey {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(pair.publicKey), private: toHex(seed) } };
}
