import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeThreshold } from '../protocol/crypto/envelope.js';
import { keyIdOf, parsePrivateKey, type PrivateKey } from '../protocol/crypto/keys.js';
import { JsonFileError, readJsonFile } from '../files/json-file.js';
import { parseRoot, RootChainError, verifyForRole, walkRootChain, type RootEnvelope, type RootSigned } from '../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../protocol/trust/settings-policy.js';

/** A verified root chain: every version from the first one given, `root` = the newest, trusted now. */
export interface RootChain {
  /** Index 0 = the first root (version 1 for a trust folder), last = current. */
  roots: RootEnvelope[];
  root: RootSigned;
}

/**
 * protocol §1: a trust folder holds `root.json` (newest root), `root/N.json`
 * for every earlier version, `policy.json` and `online.key.json`.
 */
export interface TrustFolder extends RootChain {
  policy: PolicyEnvelope;
  onlineKey: PrivateKey;
}

export interface RootChainOptions {
  /** Accept an expired newest root: only for rotation, which is how an expired root is replaced. */
  allowExpired?: boolean;
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

/**
 * Trusts `roots` (consecutive versions) from the first: it must be signed by
 * its own root keys, each later one follows by protocol §2 / TUF rules, and
 * the newest must not have expired unless `allowExpired`.
 */
export function verifyRootChain(roots: readonly RootEnvelope[], now: Date, opts: RootChainOptions = {}): RootSigned {
  const [first, ...rest] = roots;
  if (!first) throw new TrustFolderError('no root document given');
  const self = verifyForRole(first.signed, 'root', first);
  if (!self.met) throw new TrustFolderError(`root v${first.signed.version} is not signed by its own root keys: ${describeThreshold('root', self)}`);
  try {
    return walkRootChain(first.signed, rest, now, { allowExpired: opts.allowExpired ?? false });
  } catch (e) {
    if (e instanceof RootChainError) throw new TrustFolderError(`${e.message}: ${e.reasons.join('; ')}`);
    throw e;
  }
}

/**
 * The root chain of a trust folder (protocol §1: root.json + root/N.json),
 * complete from v1 and walked by the TUF rules. Needs neither policy.json
 * nor online.key.json, so offline tools work on a folder of public documents.
 */
export function loadRootChain(dir: string, now: Date, opts: RootChainOptions = {}): RootChain {
  const paths = trustPaths(dir);
  if (!existsSync(paths.root)) throw new TrustFolderError(`${dir} is not a trust folder: ${paths.root} is missing`);
  const current = parseOrExplain(paths.root, parseRoot);
  const earlier: RootEnvelope[] = [];
  if (existsSync(paths.rootHistory)) {
    const files = readdirSync(paths.rootHistory).filter((f) => /^[1-9][0-9]*\.json$/.test(f));
    for (const f of files) earlier.push(parseOrExplain(join(paths.rootHistory, f), parseRoot));
  }
  earlier.sort((a, b) => a.signed.version - b.signed.version);
  const roots = [...earlier.filter((r) => r.signed.version < current.signed.version), current];
  roots.forEach((r, i) => {
    if (r.signed.version !== i + 1) throw new TrustFolderError(`root history in ${dir} is incomplete: expected root/${i + 1}.json`);
  });
  return { roots, root: verifyRootChain(roots, now, opts) };
}

/** Loads and fully verifies a trust folder: root chain from v1, policy by the root role, online key listed. */
export function loadTrustFolder(dir: string, now = new Date()): TrustFolder {
  const { roots, root } = loadRootChain(dir, now);
  const paths = trustPaths(dir);
  const policy = parseOrExplain(paths.policy, parsePolicy);
  const byRoot = verifyForRole(root, 'root', policy);
  if (!byRoot.met) throw new TrustFolderError(`${paths.policy} is not signed by the root role: ${describeThreshold('root', byRoot)}`);
  const onlineKey = parseOrExplain(paths.onlineKey, parsePrivateKey);
  if (!root.roles.online.keyids.includes(keyIdOf(onlineKey))) {
    throw new TrustFolderError(`${paths.onlineKey} is not a key of the online role in root v${root.version}`);
  }
  return { roots, root, policy, onlineKey };
}
