import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { signEnvelope } from '../protocol/crypto/envelope.js';
import { writePrivateKeyFile, writePublicKeyFile } from '../protocol/crypto/key-files.js';
import { generatePrivateKey } from '../protocol/crypto/keys.js';
import { ed25519Signer } from '../protocol/crypto/signer.js';
import { buildRoot } from '../protocol/trust/build.js';
import type { PolicySigned } from '../protocol/trust/settings-policy.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { trustPaths } from './trust-folder.js';

export interface DevTrust {
  trustDir: string;
  keysDir: string;
  created: boolean;
}

export const writeJson = (path: string, value: unknown): void => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

/**
 * A development trust folder, generated once under the data folder: one key
 * per role (threshold 1), root v1 valid for a year, the example policy.
 * Offline keys land in data/dev-keys/ (0600); production trust comes from
 * `ota trust init` on a release engineer's machine instead.
 */
export function ensureDevTrust(dataDir: string, now = new Date()): DevTrust {
  const trustDir = join(dataDir, 'trust');
  const keysDir = join(dataDir, 'dev-keys');
  const paths = trustPaths(trustDir);
  if (existsSync(paths.root)) return { trustDir, keysDir, created: false };

  mkdirSync(trustDir, { recursive: true, mode: 0o700 });
  const rootKey = generatePrivateKey();
  const releaseKey = generatePrivateKey();
  const onlineKey = generatePrivateKey();
  writePrivateKeyFile(join(keysDir, 'root.key.json'), rootKey);
  writePrivateKeyFile(join(keysDir, 'release.key.json'), releaseKey);
  writePublicKeyFile(join(keysDir, 'root.pub.json'), rootKey);
  writePublicKeyFile(join(keysDir, 'release.pub.json'), releaseKey);
  writePrivateKeyFile(paths.onlineKey, onlineKey);

  const expires = toTimestamp(new Date(now.getTime() + 365 * 24 * 3600 * 1000));
  const root = buildRoot({
    version: 1,
    expires,
    roles: {
      root: { keys: [rootKey], threshold: 1 },
      release: { keys: [releaseKey], threshold: 1 },
      online: { keys: [onlineKey], threshold: 1 },
    },
  });
  const signer = ed25519Signer(rootKey);
  writeJson(paths.policy, signEnvelope({ signed: examplePolicy as PolicySigned }, [signer]));
  // root.json last: its presence marks the folder complete.
  writeJson(paths.root, signEnvelope({ signed: root }, [signer]));
  return { trustDir, keysDir, created: true };
}
