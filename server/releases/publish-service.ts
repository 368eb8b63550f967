import { NonIntegerNumberError, signedBytes } from '../protocol/crypto/canonical.js';
import { describeThreshold, verifyThreshold } from '../protocol/crypto/envelope.js';
import { AppError, type ErrorCode, type ErrorDetail } from '../errors.js';
import type { AuditStore } from '../audit/audit-store.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Sql } from '../db/sql.js';
import type { TransparencyLog } from '../transparency/transparency-log.js';
import { otherRoleNote, type RootSigned } from '../protocol/trust/root.js';
import { checkSettings, type PolicySigned } from '../protocol/trust/settings-policy.js';
import type { TrustState } from '../trust/trust-state.js';
import { isExpired, toTimestamp } from '../protocol/trust/time.js';
import { manifestSha256, type ReleaseEnvelope } from '../protocol/release-manifest.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { ReleaseStore, StoredRelease } from './release-store.js';

export interface PublishDeps {
  sql: Sql;
  releases: ReleaseStore;
  artifacts: ArtifactStore;
  audit: AuditStore;
  log: Pick<TransparencyLog, 'append' | 'refresh'>;
  trust: TrustState;
  now: () => Date;
  changes?: Pick<ChangeFeed, 'publish'>;
  /** What each uploaded `.mender` artifact's header says (protocol §12); absent = not checked. */
  menderHeaders?: { get(sha256: string): Promise<{ artifactName: string; deviceTypes: readonly string[] } | undefined> };
}

export type PublishOutcome = { created: boolean; release: StoredRelease };

/**
 * Every reason a signed release is refused by the trust documents alone, all
 * at once (protocol §7: "422 with every reason"): integer-only signed body,
 * the release role's signature threshold (§1, §2), settings policy P1–P3
 * (§3) and expiry (§4). Pure: the server's publish and the offline
 * `ota verify` share it. `policy` null = settings not checked (only `ota
 * verify` without a policy; the server always has one).
 */
export function releaseRefusals(envelope: ReleaseEnvelope, root: RootSigned, policy: PolicySigned | null, now: Date): ErrorDetail[] {
  const reasons: ErrorDetail[] = [];
  let bytes: Uint8Array | undefined;
  try {
    bytes = signedBytes(envelope.signed);
  } catch (e) {
    if (!(e instanceof NonIntegerNumberError)) throw e;
    reasons.push({ code: 'signature_invalid', path: `/signed${e.path}`, message: e.message });
  }
  if (bytes) {
    const result = verifyThreshold(envelope, root.keys, root.roles.release, bytes);
    if (!result.met) {
      const anyValid = result.valid.length > 0 || result.ignored.some((i) => i.reason === 'duplicate_keyid');
      reasons.push({
        code: anyValid ? 'threshold_not_met' : 'signature_invalid',
        path: '/signatures',
        message: describeThreshold(`release (root v${root.version})`, result, otherRoleNote(root, 'release')),
      });
    }
  }
  for (const v of policy ? checkSettings(policy, envelope.signed.settings) : []) {
    reasons.push({ code: 'policy_violation', path: v.key, rule: v.rule, message: `${v.rule}: ${v.message}` });
  }
  const { expires } = envelope.signed;
  if (expires !== undefined && isExpired(expires, now)) {
    reasons.push({ code: 'release_expired', path: '/signed/expires', message: `the release expired at ${expires}` });
  }
  return reasons;
}

/** releaseRefusals by the server's current trust, plus what only the server knows: the artifact was uploaded. */
export async function refusalsOf(envelope: ReleaseEnvelope, deps: Pick<PublishDeps, 'trust' | 'artifacts' | 'now' | 'menderHeaders'>): Promise<ErrorDetail[]> {
  const { root, policy } = deps.trust.current();
  const reasons = releaseRefusals(envelope, root, policy.signed, deps.now());
  const { artifact } = envelope.signed;
  if (artifact && artifact.url === undefined) {
    const stored = await deps.artifacts.get(artifact.sha256);
    if (!stored) reasons.push({ code: 'release_refused', path: '/signed/artifact', message: `artifact ${artifact.sha256} has not been uploaded (PUT /v1/artifacts first)` });
    else if (stored.size !== artifact.size) reasons.push({ code: 'release_refused', path: '/signed/artifact/size', message: `artifact is ${stored.size} bytes, the manifest says ${artifact.size}` });
    else reasons.push(...(await menderRefusals(envelope, deps)));
  }
  return reasons;
}

/**
 * protocol §12: a `.mender` artifact's header must name `artifact_name` =
 * the release's version and device types covering every model of the
 * release (the stock client refuses anything else, after downloading it).
 */
async function menderRefusals(envelope: ReleaseEnvelope, deps: Pick<PublishDeps, 'menderHeaders'>): Promise<ErrorDetail[]> {
  const { artifact, version, models } = envelope.signed;
  const header = artifact && deps.menderHeaders ? await deps.menderHeaders.get(artifact.sha256) : undefined;
  if (!header) return [];
  const reasons: ErrorDetail[] = [];
  if (header.artifactName !== version) {
    reasons.push({ code: 'release_refused', path: '/signed/version', message: `the .mender artifact is named ${header.artifactName}, the release's version is ${version ?? '(none)'}` });
  }
  const missing = models.filter((m) => !header.deviceTypes.includes(m));
  if (missing.length) {
    reasons.push({ code: 'release_refused', path: '/signed/models', message: `the .mender artifact's device types (${header.deviceTypes.join(', ')}) do not include ${missing.join(', ')}` });
  }
  return reasons;
}

export async function publishRelease(envelope: ReleaseEnvelope, actor: string, deps: PublishDeps): Promise<PublishOutcome> {
  const sha = manifestSha256(envelope.signed);
  // The existence check and the insert share one transaction: two publishes of one id never both insert.
  const outcome = await deps.sql.transaction(() => publishInTransaction(envelope, sha, actor, deps));
  if (outcome.created) await deps.log.refresh();
  return outcome;
}

async function publishInTransaction(envelope: ReleaseEnvelope, sha: string, actor: string, deps: PublishDeps): Promise<PublishOutcome> {
  // protocol §9: publishes on any node take turns from this check to commit (the history lock, taken first).
  await holdUntilCommit(deps.sql, ADVISORY_LOCK.history);
  const existing = await deps.releases.get(envelope.signed.id);
  if (existing) {
    if (existing.manifestSha256 === sha) return { created: false, release: existing };
    throw new AppError('conflict', `release ${envelope.signed.id} already exists with other content`, {
      details: [{ path: '/signed/id', message: `published manifestSha256 is ${existing.manifestSha256}` }],
    });
  }
  const reasons = await refusalsOf(envelope, deps);
  if (reasons.length) {
    const codes = new Set(reasons.map((r) => r.code));
    const code: ErrorCode = codes.size === 1 ? ([...codes][0] as ErrorCode) : 'release_refused';
    throw new AppError(code, `release ${envelope.signed.id} refused: ${reasons.map((r) => r.message).join('; ')}`, { details: reasons });
  }
  const at = toTimestamp(deps.now());
  const served = { signed: envelope.signed, signatures: envelope.signatures };
  const release: StoredRelease = {
    id: envelope.signed.id,
    manifestSha256: sha,
    envelopeJson: JSON.stringify(served),
    issuedAt: envelope.signed.issuedAt,
    publishedAt: at,
    publishedBy: actor,
  };
  await deps.releases.insert(release);
  // protocol §8: logged in the transaction that stores it, as served.
  await deps.log.append(served, at);
  await deps.audit.append({ actor, action: 'release.publish', subject: release.id, details: { manifestSha256: sha, signatures: envelope.signatures.map((s) => s.keyid) } }, at);
  // Every node's log view serves the new checkpoint (protocol §9).
  await deps.changes?.publish('log');
  return { created: true, release };
}
