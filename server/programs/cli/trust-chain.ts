import { existsSync, statSync } from 'node:fs';
import { describeThreshold } from '../../protocol/crypto/envelope.js';
import { parseRoot, verifyForRole, type RootSigned } from '../../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../../protocol/trust/settings-policy.js';
import { loadRootChain, verifyRootChain, type RootChain } from '../../trust/trust-folder.js';
import { parseFile } from './cli-files.js';
import { CliError } from './io.js';

/** A verified root chain, and the trust folder it came from if any (for its policy.json). */
export interface CliRootChain extends RootChain {
  dir?: string;
}

/** A single root.json given as the trusted root: self-signed and unexpired. */
export function loadPinnedRoot(file: string, now: Date): CliRootChain {
  const pinned = parseFile(file, parseRoot);
  return { roots: [pinned], root: verifyRootChain([pinned], now) };
}

/** `--root`: a trust folder (its chain walked from v1 by loadRootChain) or a root.json file. */
export function resolveRoot(path: string, now: Date): CliRootChain {
  if (!existsSync(path)) throw new CliError(`${path} does not exist`);
  return statSync(path).isDirectory() ? { ...loadRootChain(path, now), dir: path } : loadPinnedRoot(path, now);
}

/** A settings-policy envelope that verifies by the root role of `root` (protocol §3). */
export function loadVerifiedPolicy(file: string, root: RootSigned): PolicyEnvelope {
  const policy = parseFile(file, parsePolicy);
  const byRoot = verifyForRole(root, 'root', policy);
  if (!byRoot.met) throw new CliError(`${file} is not signed by the root role of root v${root.version}: ${describeThreshold('root', byRoot)}`);
  return policy;
}
