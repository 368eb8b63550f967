import { signEnvelope, type Envelope } from '../crypto/envelope.js';
import { keyIdOf, publicPart, type PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signer.js';
import type { RoleName, RootSigned } from './root.js';
import type { PolicySigned, SettingSpec } from './settings-policy.js';

export interface RoleSpec {
  keys: PublicKey[];
  threshold: number;
}

/** Builds the `signed` body of a root document from public keys and thresholds. */
export function buildRoot(opts: { version: number; expires: string; roles: Record<RoleName, RoleSpec> }): RootSigned {
  const keys: Record<string, PublicKey> = {};
  const roles = {} as RootSigned['roles'];
  for (const name of ['root', 'release', 'online'] as const) {
    const spec = opts.roles[name];
    const keyids = [...new Set(spec.keys.map((k) => keyIdOf(k)))];
    for (const k of spec.keys) keys[keyIdOf(k)] = publicPart(k);
    roles[name] = { keyids, threshold: spec.threshold };
  }
  return { type: 'root', version: opts.version, expires: opts.expires, keys, roles };
}

export const buildPolicy = (version: number, settings: Record<string, SettingSpec>): PolicySigned => ({
  type: 'settings-policy',
  version,
  settings,
});

/**
 * protocol §2: root N+1 must carry signatures of a threshold of N's root keys
 * and of its own; the caller passes both sets of signers (one key may be in both).
 */
export function signRotation(next: RootSigned, oldRootSigners: Signer[], newRootSigners: Signer[]): Envelope<RootSigned> {
  const seen = new Set<string>();
  const signers = [...oldRootSigners, ...newRootSigners].filter((s) => !seen.has(s.keyid) && seen.add(s.keyid));
  return signEnvelope({ signed: next }, signers);
}
