import examplePolicy from '../../../manifests/policy.json' with { type: 'json' };
import { describeThreshold, signEnvelope } from '../../protocol/crypto/envelope.js';
import { ed25519Signer } from '../../protocol/crypto/signer.js';
import { readJsonFile } from '../../files/json-file.js';
import { parseRoot, verifyForRole, type RoleName, type RootSigned } from '../../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../../protocol/trust/settings-policy.js';
import type { LoadedKey } from './cli-files.js';
import { CliError, describeError, println, type CliIo } from './io.js';

/** What `trust init` and `trust rotate` share: root signers, checks before writing, the policy. */
export const DAY_MS = 24 * 3600 * 1000;

/** The private keys among `keys` that sign for the root role, one per keyid. */
export function rootSigners(keys: LoadedKey[], root: RootSigned) {
  const seen = new Set<string>();
  return keys.filter((k) => k.private && root.roles.root.keyids.includes(k.keyid) && !seen.has(k.keyid) && seen.add(k.keyid))
    .map((k) => ed25519Signer(k.private as NonNullable<LoadedKey['private']>));
}

/** Parses a built root through the same rules the server applies (threshold ≤ keys, keyids). */
export function checkedRoot(signed: RootSigned): RootSigned {
  try {
    return parseRoot({ signed, signatures: [] }).signed;
  } catch (e) {
    throw new CliError(`the new root would not be valid: ${describeError(e)}`);
  }
}

/** protocol §3: the policy is signed by the root role; re-signed from scratch with `signers`. */
export function signPolicy(policy: PolicyEnvelope['signed'], root: RootSigned, signers: ReturnType<typeof rootSigners>): PolicyEnvelope {
  const envelope = signEnvelope({ signed: policy }, signers);
  const result = verifyForRole(root, 'root', envelope);
  if (!result.met) throw new CliError(`policy.json cannot be signed: ${describeThreshold(`root (root v${root.version})`, result)}`);
  return envelope;
}

/** The unsigned policy body (or an envelope, whose `signed` is taken), validated. */
export function readPolicyBody(path: string | undefined): PolicyEnvelope['signed'] {
  try {
    const value = path === undefined ? examplePolicy : readJsonFile(path);
    const body = value && typeof value === 'object' && 'signed' in value ? (value as { signed: unknown }).signed : value;
    return parsePolicy({ signed: body, signatures: [] }).signed;
  } catch (e) {
    throw new CliError(`${path ?? 'example policy'}: ${describeError(e)}`);
  }
}

export function warnSharedKeys(root: RootSigned, io: CliIo): void {
  const roleOf = new Map<string, RoleName>();
  for (const role of ['root', 'release', 'online'] as const) {
    for (const id of root.roles[role].keyids) {
      const other = roleOf.get(id);
      if (other) println(io.err, `ota: warning: key ${id.slice(0, 12)}… serves both the ${other} and the ${role} role`);
      roleOf.set(id, role);
    }
  }
}

