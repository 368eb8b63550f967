import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeThreshold } from '../crypto/envelope.js';
import { parseRoot, RootChainError, verifyForRole, walkRootChain, type RootEnvelope, type RootSigned } from '../trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../trust/settings-policy.js';
import { trustPaths } from '../trust/trust-folder.js';
import { parseFile } from './cli-files.js';
import { CliError } from './io.js';

/** A verified root chain: every version from the first one given, last = trusted now. */
export interface RootChain {
  roots: RootEnvelope[];
  root: RootSigned;
  /** The trust folder it came from, if any (for its policy.json). */
  dir?: string;
}

// walkRootChain checks only the newest root's expiry; the epoch switches that check off.
const NO_EXPIRY_CHECK = new Date(0);

function walk(first: RootEnvelope, rest: RootEnvelope[], now: Date, allowExpired: boolean): RootSigned {
  const self = verifyForRole(first.signed, 'root', first);
  if (!self.met) throw new CliError(`root v${first.signed.version} is not signed by its own root keys: ${describeThreshold('root', self)}`);
  try {
    return walkRootChain(first.signed, rest, allowExpired ? NO_EXPIRY_CHECK : now);
  } catch (e) {
    if (e instanceof RootChainError) throw new CliError(`${e.message}: ${e.reasons.join('; ')}`);
    throw e;
  }
}

/**
 * The root chain of a trust folder (protocol §1: root.json + root/N.json),
 * walked from v1 by the TUF rules. Unlike loadTrustFolder it needs neither
 * policy.json nor online.key.json, so offline verification works on a folder
 * that holds public documents only. `allowExpired` is for rotation, the cure
 * for an expired root.
 */
export function loadRootChain(dir: string, now: Date, opts: { allowExpired?: boolean } = {}): RootChain {
  const paths = trustPaths(dir);
  if (!existsSync(paths.root)) throw new CliError(`${dir} is not a trust folder: ${paths.root} is missing`);
  const current = parseFile(paths.root, parseRoot);
  const earlier: RootEnvelope[] = [];
  if (existsSync(paths.rootHistory)) {
    for (const f of readdirSync(paths.rootHistory).filter((name) => /^[1-9][0-9]*\.json$/.test(name))) {
      earlier.push(parseFile(join(paths.rootHistory, f), parseRoot));
    }
  }
  earlier.sort((a, b) => a.signed.version - b.signed.version);
  const roots = [...earlier.filter((r) => r.signed.version < current.signed.version), current];
  roots.forEach((r, i) => {
    if (r.signed.version !== i + 1) throw new CliError(`root history in ${dir} is incomplete: expected root/${i + 1}.json`);
  });
  const root = walk(roots[0] as RootEnvelope, roots.slice(1), now, opts.allowExpired ?? false);
  return { roots, root, dir };
}

/** A single root.json given as the trusted root: self-signed and unexpired. */
export function loadPinnedRoot(file: string, now: Date): RootChain {
  const pinned = parseFile(file, parseRoot);
  return { roots: [pinned], root: walk(pinned, [], now, false) };
}

/** `--root`: a trust folder or a root.json file. */
export function resolveRoot(path: string, now: Date): RootChain {
  if (!existsSync(path)) throw new CliError(`${path} does not exist`);
  return statSync(path).isDirectory() ? loadRootChain(path, now) : loadPinnedRoot(path, now);
}

/** A settings-policy envelope that verifies by the root role of `root` (protocol §3). */
export function loadVerifiedPolicy(file: string, root: RootSigned): PolicyEnvelope {
  const policy = parseFile(file, parsePolicy);
  const byRoot = verifyForRole(root, 'root', policy);
  if (!byRoot.met) throw new CliError(`${file} is not signed by the root role of root v${root.version}: ${describeThreshold('root', byRoot)}`);
  return policy;
}
