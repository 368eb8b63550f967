import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { signEnvelope, type Envelope } from '../../server/protocol/crypto/envelope.js';
import { sha256Hex } from '../../server/protocol/crypto/hash.js';
import { generatePrivateKey, type PrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { manifestSha256, type ReleaseEnvelope, type ReleaseSigned } from '../../server/protocol/release-manifest.js';
import type { RolloutStatementSigned } from '../../server/protocol/rollout-statement.js';
import { buildRoot, signRotation } from '../../server/protocol/trust/build.js';
import type { RootEnvelope, RootSigned } from '../../server/protocol/trust/root.js';
import type { PolicyEnvelope, PolicySigned } from '../../server/protocol/trust/settings-policy.js';
import type { OfferContext } from '../../server/programs/agent/verify-offer.js';
import type { StatementEnvelope } from '../../server/programs/agent/statement.js';
import { FUTURE, releaseBody, signWith } from '../helpers/fixtures.js';

/** Signed trust built in code (style: never hand-edited JSON). */
export interface Keys {
  root: PrivateKey[];
  release: PrivateKey[];
  online: PrivateKey;
  rootEnvelope: RootEnvelope;
  policy: PolicyEnvelope;
}

export const NOW = new Date('2026-11-24T11:30:00Z');
export const DEVICE = { deviceId: 'redmi-1s-000042', model: 'redmi-1s', installedVersion: '1.4.1' };
export const SALT = '00112233445566778899aabbccddeeff';
export const POLICY = examplePolicy as PolicySigned;

export function makeKeys(opts: { releaseKeys?: number; releaseThreshold?: number } = {}): Keys {
  const root = [generatePrivateKey()];
  const release = Array.from({ length: opts.releaseKeys ?? 1 }, () => generatePrivateKey());
  const online = generatePrivateKey();
  const signed = buildRoot({
    version: 1,
    expires: FUTURE,
    roles: { root: { keys: root, threshold: 1 }, release: { keys: release, threshold: opts.releaseThreshold ?? 1 }, online: { keys: [online], threshold: 1 } },
  });
  return { root, release, online, rootEnvelope: signWith(signed, root), policy: signWith(POLICY, root) };
}

/** Root v(N+1) with the same roles, signed by `oldSigners` and `newSigners` (TUF rotation). */
export function nextRoot(prev: RootSigned, oldSigners: PrivateKey[], newSigners: PrivateKey[] = oldSigners): RootEnvelope {
  return signRotation({ ...prev, version: prev.version + 1 }, oldSigners.map(ed25519Signer), newSigners.map(ed25519Signer));
}

export const signedRelease = (keys: Keys, over: Partial<ReleaseSigned> = {}, signers: PrivateKey[] = keys.release): ReleaseEnvelope =>
  signWith(releaseBody(over), signers);

export function statementFor(keys: Keys, release: ReleaseEnvelope, over: Partial<RolloutStatementSigned> = {}, signer: PrivateKey = keys.online): StatementEnvelope {
  const signed: RolloutStatementSigned = {
    type: 'rollout',
    rolloutId: 'optin-rollout',
    releaseId: release.signed.id,
    manifestSha256: manifestSha256(release.signed),
    stage: 0,
    cohort: 'all',
    basisPoints: 10000,
    salt: SALT,
    version: 1,
    issuedAt: '2026-11-24T11:00:00Z',
    expires: '2026-11-24T12:00:00Z',
    ...over,
  };
  return signEnvelope({ signed }, [ed25519Signer(signer)]);
}

export interface Offer {
  release: Envelope<unknown>;
  rollout: Envelope<unknown>;
}

export function offerOf(keys: Keys, release: Partial<ReleaseSigned> = {}, statement: Partial<RolloutStatementSigned> = {}): Offer {
  const r = signedRelease(keys, release);
  return { release: r, rollout: statementFor(keys, r, statement) };
}

/** An image and the manifest fields that describe it. */
export function image(text: string): { bytes: Uint8Array; artifact: { sha256: string; size: number } } {
  const bytes = new TextEncoder().encode(text.repeat(1000));
  return { bytes, artifact: { sha256: sha256Hex(bytes), size: bytes.length } };
}

export function contextOf(keys: Keys, over: Partial<OfferContext> = {}): OfferContext {
  return { ...DEVICE, root: keys.rootEnvelope.signed, policy: POLICY, seenStatementVersions: {}, settingsOnly: { applied: [] }, ...over };
}
