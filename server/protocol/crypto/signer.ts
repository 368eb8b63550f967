import nacl from 'tweetnacl';
import { fromHex, toHex } from './encoding.js';
import { keyIdOf, type PrivateKey } from './keys.js';

/** Anything that can sign bytes under a keyid: a key file today, an HSM tomorrow. */
export interface Signer {
  readonly keyid: string;
  sign(bytes: Uint8Array): string;
}

export function ed25519Signer(key: PrivateKey): Signer {
  // tweetnacl wants the 64-byte secret key (seed || public), derived from the seed.
  const secretKey = nacl.sign.keyPair.fromSeed(fromHex(key.keyval.private)).secretKey;
  return {
    keyid: keyIdOf(key),
    sign: (bytes) => toHex(nacl.sign.detached(bytes, secretKey)),
  };
}

export function verifyEd25519(publicHex: string, bytes: Uint8Array, sigHex: string): boolean {
  try {
    return nacl.sign.detached.verify(bytes, fromHex(sigHex), fromHex(publicHex));
  } catch {
    return false;
  }
}
