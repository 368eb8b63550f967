import { canonicalJson, NonIntegerNumberError, signedBytes } from '../../protocol/crypto/canonical.js';
import { describeThreshold, type Envelope, type ThresholdResult } from '../../protocol/crypto/envelope.js';
import { AppError, type ErrorDetail } from '../../errors.js';
import { releaseRefusals } from '../../releases/publish-service.js';
import { manifestSha256, parseRelease } from '../../protocol/release-manifest.js';
import { parseRolloutStatement } from '../../rollouts/rollout-statement.js';
import { parseWithdrawal } from '../../releases/withdrawal-statement.js';
import { checkNextRoot, otherRoleNote, parseRoot, verifyForRole, type RoleName, type RootEnvelope } from '../../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../../protocol/trust/settings-policy.js';
import { isExpired } from '../../protocol/trust/time.js';
import type { RootChain } from '../../trust/trust-folder.js';

export interface VerifyInput {
  chain: RootChain;
  /** Already verified by the root role; releases are checked against it (protocol §3). */
  policy?: PolicyEnvelope;
  now: Date;
}

export interface Verdict {
  /** "release redmi-1s-…", "root v3", … */
  subject: string;
  /** Every reason the document is refused; empty = it verifies. */
  reasons: string[];
  /** What was checked, for the OK output. */
  notes: string[];
  signedBy: string[];
}

/** One line per refusal, as `ota publish` prints the server's details: `code path: message`. */
const refusalLine = (d: ErrorDetail): string => `${[d.code, d.path].filter(Boolean).join(' ')}: ${d.message}`;

function parsed<T>(parse: (v: unknown) => T, doc: unknown, verdict: Verdict): T | undefined {
  try {
    return parse(doc);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    verdict.reasons.push(...(e.details?.length ? e.details.map((d) => `${e.message}: ${d.path ?? ''} ${d.message}`) : [e.message]));
    return undefined;
  }
}

function threshold(input: VerifyInput, role: RoleName, env: Envelope<unknown>, verdict: Verdict): ThresholdResult | undefined {
  try {
    signedBytes(env.signed);
  } catch (e) {
    if (e instanceof NonIntegerNumberError) {
      verdict.reasons.push(e.message);
      return undefined;
    }
    throw e;
  }
  const { root } = input.chain;
  const result = verifyForRole(root, role, env);
  if (result.met) {
    verdict.notes.push(`${role} role of root v${root.version}: ${result.valid.length} valid signature(s), threshold ${result.threshold}`);
    verdict.signedBy = result.valid;
  } else verdict.reasons.push(describeThreshold(`${role} (root v${root.version})`, result, otherRoleNote(root, role)));
  return result;
}

function expiry(expires: string | undefined, what: string, input: VerifyInput, verdict: Verdict): void {
  if (expires !== undefined && isExpired(expires, input.now)) verdict.reasons.push(`${what} expired at ${expires}`);
}

/** The server's publish checks (releaseRefusals), minus the artifact upload only the server can see. */
function verifyRelease(doc: unknown, input: VerifyInput, verdict: Verdict): void {
  const release = parsed(parseRelease, doc, verdict);
  if (!release) return;
  verdict.subject = `release ${release.signed.id}`;
  const refusals = releaseRefusals(release, input.chain.root, input.policy?.signed ?? null, input.now);
  verdict.reasons.push(...refusals.map(refusalLine));
  if (refusals.length) return;
  threshold(input, 'release', release, verdict);
  if (input.policy) verdict.notes.push(`settings allowed by settings policy v${input.policy.signed.version} (P1–P3)`);
  else verdict.notes.push('settings NOT checked: no settings policy (give --policy or a trust folder holding policy.json)');
  verdict.notes.push(`manifestSha256 ${manifestSha256(release.signed)}`);
}

/** protocol §2: a root is either part of the trusted chain or its exact next version. */
function verifyRoot(doc: unknown, input: VerifyInput, verdict: Verdict): void {
  const root = parsed(parseRoot, doc, verdict);
  if (!root) return;
  const { chain } = input;
  const v = root.signed.version;
  verdict.subject = `root v${v}`;
  if (v > chain.root.version) {
    verdict.reasons.push(...checkNextRoot(chain.root, root));
    expiry(root.signed.expires, `root v${v}`, input, verdict);
    if (!verdict.reasons.length) {
      verdict.notes.push(`follows trusted root v${chain.root.version}: signed by a threshold of its root keys and of its own`);
      verdict.signedBy = verifyForRole(root.signed, 'root', root).valid;
    }
    return;
  }
  const known = chain.roots.find((r: RootEnvelope) => r.signed.version === v);
  if (!known) verdict.reasons.push(`root v${v} is older than the root given (v${chain.roots[0]?.signed.version}); give a trust folder with its history`);
  else if (canonicalJson(known.signed) !== canonicalJson(root.signed)) verdict.reasons.push(`root v${v} differs from the trusted root v${v}`);
  else {
    verdict.notes.push(`identical to root v${v} of the trusted chain (newest v${chain.root.version})`);
    verdict.signedBy = verifyForRole(root.signed, 'root', root).valid;
  }
}

function verifyPolicy(doc: unknown, input: VerifyInput, verdict: Verdict): void {
  const policy = parsed(parsePolicy, doc, verdict);
  if (!policy) return;
  verdict.subject = `settings-policy v${policy.signed.version}`;
  threshold(input, 'root', policy, verdict);
}

function verifyRollout(doc: unknown, input: VerifyInput, verdict: Verdict): void {
  const statement = parsed(parseRolloutStatement, doc, verdict);
  if (!statement) return;
  verdict.subject = `rollout ${statement.signed.rolloutId}`;
  threshold(input, 'online', statement, verdict);
  expiry(statement.signed.expires, 'the rollout statement', input, verdict);
}

/** protocol §7/§8: a release withdrawal, signed by the online role (it never expires: it is history). */
function verifyWithdrawal(doc: unknown, input: VerifyInput, verdict: Verdict): void {
  const w = parsed(parseWithdrawal, doc, verdict);
  if (!w) return;
  verdict.subject = `withdrawal of release ${w.signed.releaseId}`;
  threshold(input, 'online', w, verdict);
  if (!verdict.reasons.length) verdict.notes.push(`withdrawn at ${w.signed.issuedAt}: ${w.signed.reason}`);
}

const byType: Record<string, (doc: unknown, input: VerifyInput, verdict: Verdict) => void> = {
  release: verifyRelease,
  root: verifyRoot,
  'settings-policy': verifyPolicy,
  rollout: verifyRollout,
  withdrawal: verifyWithdrawal,
};

/** Verifies any signed document by the role its `signed.type` calls for (protocol §2 table). */
export function verifyDocument(doc: unknown, input: VerifyInput): Verdict {
  const type = (doc as { signed?: { type?: unknown } } | null)?.signed?.type;
  const verdict: Verdict = { subject: `${String(type)} document`, reasons: [], notes: [], signedBy: [] };
  const check = typeof type === 'string' && Object.hasOwn(byType, type) ? byType[type] : undefined;
  if (!check) verdict.reasons.push(`not a signed document of a known type (signed.type must be one of ${Object.keys(byType).join(', ')})`);
  else check(doc, input, verdict);
  return verdict;
}
