import { readdirSync, existsSync } from 'node:fs';
import { JsonFileError, readJsonFile } from '../files/json-file.js';
import { join } from 'node:path';
import { describeThreshold } from '../crypto/envelope.js';
import { keyIdOf, parsePrivateKey, type PrivateKey } from '../crypto/keys.js';
import { parseRoot, verifyForRole, walkRootChain, type RootEnvelope, type RootSigned } from './root.js';
import { parsePolicy, type PolicyEnvelope } from './settings-policy.js';

/**
 * protocol §1: a trust folder holds `root.json` (newest root), `root/N.json`
 * for every earlier version, `policy.json` and `online.key.json`.
 */
export interface TrustFolder {
  /** Every root version, index 0 = version 1, last = current. */
  roots: RootEnvelope[];
  root: RootSigned;
  policy: PolicyEnvelope;
  onlineKey: PrivateKey;
}

export class TrustFolderError extends Error {}

export const trustPaths = (dir: string) => ({
  root: join(dir, 'root.json'),
  rootHistory: join(dir, 'root'),
  policy: join(dir, 'policy.json'),
  onlineKey: join(dir, 'online.key.json'),
});

function parseOrExplain<T>(path: string, parse: (v: unknown) => T): T {
  try {
    return parse(readJsonFile(path));
  } catch (e) {
    if (e instanceof TrustFolderError) throw e;
    if (e instanceof JsonFileError) throw new TrustFolderError(e.message);
    const details = (e as { details?: { path?: string; message: string }[] }).details;
    const why = details?.map((d) => `${d.path ?? ''} ${d.message}`).join('; ');
    throw new TrustFolderError(`${path}: ${(e as Error).message}${why ? ` (${why})` : ''}`);
  }
}

/** Loads and fully verifies a trust folder: root chain from v1, policy by the root role, online key listed. */
export function loadTrustFolder(dir: string, now = new Date()): TrustFolder {
  const paths = trustPaths(dir);
  const current = parseOrExplain(paths.root, parseRoot);
  const earlier: RootEnvelope[] = [];
  if (existsSync(paths.rootHistory)) {
    const files = readdirSync(paths.rootHistory).filter((f) => /^[1-9][0-9]*\.json$/.test(f));
    for (const f of files) earlier.push(parseOrExplain(join(paths.rootHistory, f), parseRoot));
  }
  earlier.sort((a, b) => a.signed.version - b.signed.version);
  const roots = [...earlier.filter((r) => r.signed.version < current.signed.version), current];
  roots.forEach((r, i) => {
    if (r.signed.version !== i + 1) throw new TrustFolderError(`root history is incomplete: expected root/${i + 1}.json`);
  });
  const first = roots[0] as RootEnvelope;
  const self = verifyForRole(first.signed, 'root', first);
  if (!self.met) throw new TrustFolderError(`root v1 is not signed by its own root keys: ${describeThreshold('root', self)}`);
  let root: RootSigned;
  try {
    root = walkRootChain(first.signed, roots.slice(1), now);
  } catch (e) {
    throw new TrustFolderError(`${(e as Error).message}: ${((e as { reasons?: string[] }).reasons ?? []).join('; ')}`);
  }
  const policy = parseOrExplain(paths.policy, parsePolicy);
  const byRoot = verifyForRole(root, 'root', policy);
  if (!byRoot.met) throw new TrustFolderError(`${paths.policy} is not signed by the root role: ${describeThreshold('root', byRoot)}`);
  const onlineKey = parseOrExplain(paths.onlineKey, parsePrivateKey);
  if (!root.roles.online.keyids.includes(keyIdOf(onlineKey))) {
    throw new TrustFolderError(`${paths.onlineKey} is not a key of the online role in root v${root.version}`);
  }
  return { roots, root, policy, onlineKey };
}
