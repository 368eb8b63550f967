import type { RootEnvelope, RootSigned } from './root.js';
import type { PolicyEnvelope } from './settings-policy.js';
import type { PrivateKey } from '../crypto/keys.js';
import type { TrustFolder } from './trust-folder.js';

export interface TrustSnapshot {
  root: RootSigned;
  roots: readonly RootEnvelope[];
  policy: PolicyEnvelope;
  onlineKey: PrivateKey;
  /** Served bytes, serialised once (GET /v1/trust/...). */
  rootJson: readonly string[];
  policyJson: string;
}

/** The server's view of the trust folder; `replace` swaps it whole (e.g. after a rotation). */
export interface TrustState {
  current(): TrustSnapshot;
  replace(folder: TrustFolder): void;
}

export function snapshotOf(folder: TrustFolder): TrustSnapshot {
  return {
    root: folder.root,
    roots: folder.roots,
    policy: folder.policy,
    onlineKey: folder.onlineKey,
    rootJson: folder.roots.map((r) => JSON.stringify(r)),
    policyJson: JSON.stringify(folder.policy),
  };
}

export function createTrustState(folder: TrustFolder): TrustState {
  let snapshot = snapshotOf(folder);
  return {
    current: () => snapshot,
    replace(next) {
      snapshot = snapshotOf(next);
    },
  };
}
