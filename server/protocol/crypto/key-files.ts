import { writeFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { readJsonFile } from '../../files/json-file.js';
import { parsePrivateKey, parsePublicKey, publicPart, type PrivateKey, type PublicKey } from './keys.js';

/** Private key files are created 0600 and never overwritten (flag wx). */
export function writePrivateKeyFile(path: string, key: PrivateKey): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

export function writePublicKeyFile(path: string, key: PublicKey | PrivateKey): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(publicPart(key), null, 2)}\n`, { mode: 0o644 });
}

/** Reads a key file written by this tool or any other that follows protocol §1. */
export function readKeyFile(path: string): { public: PublicKey; private?: PrivateKey } {
  const json = readJsonFile(path) as { keyval?: { private?: unknown } };
  if (json && typeof json === 'object' && json.keyval && 'private' in json.keyval) {
    const priv = parsePrivateKey(json);
    return { public: publicPart(priv), private: priv };
  }
  return { public: parsePublicKey(json) };
}

/** True when group or others can read the file: private keys must be 0600. */
export const isTooOpen = (path: string): boolean => (statSync(path).mode & 0o077) !== 0;
