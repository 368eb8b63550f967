import { sha256Hex } from '../protocol/crypto/hash.js';
import type { RootEnvelope, RootSigned } from '../protocol/trust/root.js';
import type { PolicyEnvelope } from '../protocol/trust/settings-policy.js';
import type { PrivateKey } from '../protocol/crypto/keys.js';
import type { TrustFolder } from './trust-folder.js';

export interface TrustSnapshot {
  root: RootSigned;
  roots: readonly RootEnvelope[];
  policy: PolicyEnvelope;
  onlineKey: PrivateKey;
  /** Served bytes, serialised once (GET /v1/trust/...). */
  rootJson: readonly string[];
  policyJson: string;
  /** Strong ETags of those bytes, so devices can check for news with a 304. */
  rootEtags: readonly string[];
  policyEtag: string;
}

/** The server's view of the trust folder; `replace` swaps it whole (e.g. after a rotation). */
export interface TrustState {
  current(): TrustSnapshot;
  replace(folder: TrustFolder): void;
}

const etagOf = (json: string): string => `"${sha256Hex(json).slice(0, 32)}"`;

export function snapshotOf(folder: TrustFolder): TrustSnapshot {
  const rootJson = folder.roots.map((r) => JSON.stringify(r));
  const policyJson = JSON.stringify(folder.policy);
  return {
    root: folder.root,
    roots: folder.roots,
    policy: folder.policy,
    onlineKey: folder.onlineKey,
    rootJson,
    policyJson,
    rootEtags: rootJson.map(etagOf),
    policyEtag: etagOf(policyJson),
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
