import semver from 'semver';
import { describeThreshold } from '../../protocol/crypto/envelope.js';
import { parseRelease, releaseApplies, type ReleaseEnvelope } from '../../protocol/release-manifest.js';
import { inBucket } from '../../protocol/bucket.js';
import type { RootSigned } from '../../protocol/trust/root.js';
import { checkSettings, type PolicySigned } from '../../protocol/trust/settings-policy.js';
import { isExpired, parseTimestamp } from '../../protocol/trust/time.js';
import { reason, type RejectReason } from './reasons.js';
import { parseStatement, type StatementEnvelope } from './statement.js';
import { releaseDigest, verifyRole, type VerifyCache } from './verify-cache.js';

/** protocol §6: default allowance for device clock drift. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Everything the device knows that an offer is checked against. */
export interface OfferContext {
  deviceId: string;
  model: string;
  installedVersion: string;
  /** The newest trusted root (protocol §2) and the policy it signed (§3). */
  root: RootSigned;
  policy: PolicySigned | undefined;
  /** When the trust refresh failed, every offer is refused with these reasons. */
  trustProblems?: readonly RejectReason[];
  /** Highest statement version verified per rolloutId (protocol §6 replay). */
  seenStatementVersions: Readonly<Record<string, number>>;
  /** Newest issuedAt verified so far: "now" never goes below it (protocol §6). */
  timeFloor?: string;
  /** Settings-only releases applied, and the newest issuedAt among them (protocol §4). */
  settingsOnly: { applied: readonly string[]; newestIssuedAt?: string };
}

export interface VerifyOptions {
  skewMs?: number;
  cache?: VerifyCache;
}

/** Facts learnt from genuinely signed documents, to persist even when the offer is refused. */
export interface Observed {
  statement?: { rolloutId: string; version: number };
  /** Newest issuedAt among the documents whose signatures verified. */
  time?: string;
}

export interface OfferIds {
  releaseId?: string;
  rolloutId?: string;
}

export type VerifyResult =
  | { ok: true; release: ReleaseEnvelope; statement: StatementEnvelope; manifestSha256: string; ids: Required<OfferIds>; observed: Observed }
  | { ok: false; reasons: RejectReason[]; ids: OfferIds; observed: Observed };

const SLUG = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const field = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined), v);
const slug = (v: unknown): string | undefined => (typeof v === 'string' && SLUG.test(v) ? v : undefined);

/** The ids to report under, read from the raw offer before anything is trusted. */
export const offerIds = (offer: unknown): OfferIds => ({
  releaseId: slug(field(offer, 'release', 'signed', 'id')),
  rolloutId: slug(field(offer, 'rollout', 'signed', 'rolloutId')),
});

const later = (a: string | undefined, b: string): string => (a === undefined || parseTimestamp(b) > parseTimestamp(a) ? b : a);

function parseOffer(offer: unknown): { release: ReleaseEnvelope; statement: StatementEnvelope } | RejectReason {
  try {
    return { release: parseRelease(field(offer, 'release')), statement: parseStatement(field(offer, 'rollout')) };
  } catch (e) {
    const details = (e as { details?: { path?: string; message: string }[] }).details ?? [];
    const why = details.map((d) => `${d.path ?? ''} ${d.message}`.trim()).join(', ');
    return reason('malformed_offer', `${(e as Error).message}${why ? `: ${why}` : ''}`);
  }
}

/**
 * Every device-side rule of protocol §2–§6 for one offer `{ release, rollout }`.
 * Pure: no I/O, no clock but `now`. Collects every reason an offer is refused.
 */
export function verifyOffer(offer: unknown, ctx: OfferContext, now: Date, opts: VerifyOptions = {}): VerifyResult {
  const skewMs = opts.skewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const observed: Observed = {};
  const ids = offerIds(offer);
  if (ctx.trustProblems?.length) return { ok: false, reasons: [...ctx.trustProblems], ids, observed };
  const parsed = parseOffer(offer);
  if ('code' in parsed) return { ok: false, reasons: [parsed], ids, observed };
  const { release, statement } = parsed;
  const r = release.signed;
  const s = statement.signed;
  const reasons: RejectReason[] = [];

  // §2/§4: the release role's threshold; §1 tells a forgery from a shortfall.
  const byRelease = verifyRole(opts.cache, ctx.root, 'release', release);
  if (byRelease.met) observed.time = later(observed.time, r.issuedAt);
  else reasons.push(reason(byRelease.valid.length === 0 ? 'signature_invalid' : 'threshold_not_met', describeThreshold('release', byRelease)));

  // §6: the statement is the online role's.
  const byOnline = verifyRole(opts.cache, ctx.root, 'online', statement);
  if (byOnline.met) {
    observed.statement = { rolloutId: s.rolloutId, version: s.version };
    observed.time = later(observed.time, s.issuedAt);
  } else reasons.push(reason('statement_signature_invalid', describeThreshold('online', byOnline)));

  // §6: the statement binds this very manifest (mix-and-match).
  const digest = releaseDigest(opts.cache, r);
  if (s.manifestSha256 !== digest || s.releaseId !== r.id) {
    reasons.push(reason('manifest_mismatch', `statement binds ${s.releaseId} ${s.manifestSha256.slice(0, 12)}…, offer carries ${r.id} ${digest.slice(0, 12)}…`));
  }

  // §6: expiry with skew, against a notion of now that never goes back.
  const floor = ctx.timeFloor === undefined ? 0 : parseTimestamp(ctx.timeFloor);
  const effectiveNow = new Date(Math.max(now.getTime(), floor));
  if (isExpired(s.expires, effectiveNow, skewMs)) reasons.push(reason('statement_expired', `statement expired at ${s.expires}`));
  const seen = Object.hasOwn(ctx.seenStatementVersions, s.rolloutId) ? ctx.seenStatementVersions[s.rolloutId] : undefined;
  if (seen !== undefined && s.version < seen) reasons.push(reason('statement_replayed', `statement version ${s.version} is older than version ${seen} already seen for ${s.rolloutId}`));

  // §5: the device's own bucket test against the statement's stage.
  if (!inBucket(s.salt, ctx.deviceId, s.basisPoints)) reasons.push(reason('not_in_bucket', `device is not within the ${s.basisPoints} basis points of stage ${s.stage + 1} (index ${s.stage})`));

  // §4/§5: model and appliesTo on the installed version; release expiry.
  if (!r.models.includes(ctx.model)) reasons.push(reason('model_mismatch', `release is for ${r.models.join(', ')}, not ${ctx.model}`));
  else if (!releaseApplies(r, ctx.model, ctx.installedVersion)) reasons.push(reason('version_not_applicable', `installed ${ctx.installedVersion} does not satisfy ${r.appliesTo}`));
  if (r.expires !== undefined && isExpired(r.expires, effectiveNow, skewMs)) reasons.push(reason('release_expired', `release expired at ${r.expires}`));

  // §4 anti-rollback.
  if (r.artifact && r.version !== undefined) {
    const cmp = semver.compare(r.version, ctx.installedVersion);
    if (cmp === 0) reasons.push(reason('already_installed', `version ${r.version} is already installed`));
    else if (cmp < 0 && !r.downgrade) reasons.push(reason('rollback', `version ${r.version} is older than installed ${ctx.installedVersion} and the release does not allow downgrade`));
  } else if (!r.artifact) {
    if (ctx.settingsOnly.applied.includes(r.id)) reasons.push(reason('already_applied', `settings-only release ${r.id} was already applied`));
    const newest = ctx.settingsOnly.newestIssuedAt;
    if (newest !== undefined && parseTimestamp(r.issuedAt) < parseTimestamp(newest)) {
      reasons.push(reason('settings_superseded', `issued ${r.issuedAt}, before the newest settings-only release applied (${newest})`));
    }
  }

  // §3: the device re-checks P1–P2 against its own verified policy.
  if (r.settings.length > 0) {
    if (!ctx.policy) reasons.push(reason('policy_unavailable', 'no verified settings policy to check the release against'));
    else for (const v of checkSettings(ctx.policy, r.settings)) reasons.push(reason('policy_violation', `${v.rule} ${v.key}: ${v.message}`));
  }

  if (reasons.length) return { ok: false, reasons, ids, observed };
  return { ok: true, release, statement, manifestSha256: digest, ids: { releaseId: r.id, rolloutId: s.rolloutId }, observed };
}
