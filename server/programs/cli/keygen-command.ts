import { join } from 'node:path';
import { writePrivateKeyFile, writePublicKeyFile } from '../../protocol/crypto/key-files.js';
import { generatePrivateKey, keyIdOf } from '../../protocol/crypto/keys.js';
import type { RoleName } from '../../protocol/trust/root.js';
import { refuseExisting } from './cli-files.js';
import { CliError, println, type CliIo } from './io.js';
import { ROLE_NAMES } from './offline-commands.js';

export function keyFilePaths(dir: string, role: RoleName, keyid: string) {
  const base = join(dir, `${role}-${keyid.slice(0, 8)}`);
  return { privatePath: `${base}.key.json`, publicPath: `${base}.pub.json` };
}

/**
 * `ota keygen`: a fresh Ed25519 key as protocol §1 files: the private key
 * (0600, never overwritten) and its public key object, named by role and keyid.
 */
export function keygen(role: string, dir: string, io: CliIo): void {
  if (!(ROLE_NAMES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${ROLE_NAMES.join(', ')}, got "${role}"`);
  const key = generatePrivateKey();
  const keyid = keyIdOf(key);
  const { privatePath, publicPath } = keyFilePaths(dir, role as RoleName, keyid);
  refuseExisting([privatePath, publicPath], 'keygen never overwrites a key');
  writePrivateKeyFile(privatePath, key);
  writePublicKeyFile(publicPath, key);
  println(io.out, `keyid:       ${keyid}`);
  println(io.out, `private key: ${privatePath} (mode 0600; keep it offline, never in git)`);
  println(io.out, `public key:  ${publicPath}`);
}
