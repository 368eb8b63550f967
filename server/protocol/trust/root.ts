import rootSchema from '../../../manifests/schema/root.schema.json' with { type: 'json' };
import { describeThreshold, verifyThreshold, type Envelope, type KeyidNote, type RoleKeys } from '../crypto/envelope.js';
import { keyIdOf, type PublicKey } from '../crypto/keys.js';
import { AppError, type ErrorDetail } from '../../errors.js';
import { compileValidator } from '../../schema/validator.js';
import { isExpired } from './time.js';

export type RoleName = 'root' | 'release' | 'online';

export interface RootSigned {
  type: 'root';
  version: number;
  expires: string;
  keys: Record<string, PublicKey>;
  roles: Record<RoleName, RoleKeys>;
}

export type RootEnvelope = Envelope<RootSigned>;

const validateRootShape = compileValidator<RootEnvelope>(rootSchema, 'root document');

/** Schema plus the rules a schema cannot say: keyids really are the keys' ids, roles name known keys. */
export function parseRoot(value: unknown): RootEnvelope {
  const root = validateRootShape(value);
  const problems: ErrorDetail[] = [];
  for (const [keyid, key] of Object.entries(root.signed.keys)) {
    if (keyIdOf(key) !== keyid) problems.push({ path: `/signed/keys/${keyid}`, message: 'keyid is not the SHA-256 of the key object (protocol §1)' });
  }
  for (const [name, role] of Object.entries(root.signed.roles)) {
    for (const id of role.keyids) {
      if (!Object.hasOwn(root.signed.keys, id)) problems.push({ path: `/signed/roles/${name}`, message: `keyid ${id} is not in keys` });
    }
    if (role.threshold > role.keyids.length) problems.push({ path: `/signed/roles/${name}/threshold`, message: 'threshold exceeds the number of keys, it can never be met' });
  }
  if (problems.length) throw new AppError('validation_failed', 'root document is not valid', { details: problems });
  return root;
}

const withArticle = (role: RoleName): string => `${role === 'online' ? 'an' : 'a'} ${role} key`;

/**
 * For describeThreshold: a signature by a key of another role of this root
 * is unknown to `role` (protocol §2: each role has its own keys), and says
 * so in words, e.g. "a root key, not a release key", instead of leaving a
 * release manager who signed with the wrong file to guess (issue 18).
 */
export function otherRoleNote(root: RootSigned, role: RoleName): KeyidNote {
  return (keyid) => {
    const other = (Object.keys(root.roles) as RoleName[]).find((r) => r !== role && root.roles[r].keyids.includes(keyid));
    return other && `${withArticle(other)}, not ${withArticle(role)}`;
  };
}

/** Verifies `envelope` for a role of `root`; returns the threshold result. */
export function verifyForRole(root: RootSigned, role: RoleName, envelope: Envelope<unknown>) {
  return verifyThreshold(envelope, root.keys, root.roles[role]);
}

/**
 * protocol §2 / TUF 5.3: version N+1 is trusted only when signed by a
 * threshold of version N's root keys AND a threshold of its own, and its
 * version is exactly N+1. Returns every reason it is refused (empty = trusted).
 */
export function checkNextRoot(trusted: RootSigned, next: RootEnvelope): string[] {
  const reasons: string[] = [];
  if (next.signed.version !== trusted.version + 1) {
    reasons.push(`root version ${next.signed.version} does not follow trusted version ${trusted.version}`);
  }
  const byOld = verifyForRole(trusted, 'root', next);
  if (!byOld.met) reasons.push(`not signed by root v${trusted.version}: ${describeThreshold('root', byOld)}`);
  const byNew = verifyForRole(next.signed, 'root', next);
  if (!byNew.met) reasons.push(`not signed by its own root keys: ${describeThreshold('root', byNew)}`);
  return reasons;
}

export class RootChainError extends Error {
  constructor(message: string, readonly reasons: string[]) {
    super(message);
  }
}

/**
 * Walks a chain of root documents from a pinned, already trusted root.
 * Intermediate roots may have expired (TUF 5.3.4 checks expiry on the final
 * root only, 5.3.10); the newest must not have, unless `allowExpired`: only
 * rotation asks for that, since a new root is how an expired one is fixed.
 */
export function walkRootChain(pinned: RootSigned, chain: readonly RootEnvelope[], now: Date, opts: { allowExpired?: boolean } = {}): RootSigned {
  let trusted = pinned;
  for (const next of chain) {
    const reasons = checkNextRoot(trusted, next);
    if (reasons.length) throw new RootChainError(`root v${next.signed.version} refused`, reasons);
    trusted = next.signed;
  }
  if (!opts.allowExpired && isExpired(trusted.expires, now)) {
    throw new RootChainError(`root v${trusted.version} expired at ${trusted.expires}`, ['newest root has expired (freeze attack or missing rotation)']);
  }
  return trusted;
}
