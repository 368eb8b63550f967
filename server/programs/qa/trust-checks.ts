import { parseStatement } from '../agent/statement.js';
import { canonicalJson } from '../../protocol/crypto/canonical.js';
import { describeThreshold } from '../../protocol/crypto/envelope.js';
import { manifestSha256, parseRelease, type ReleaseSigned } from '../../protocol/release-manifest.js';
import type { RolloutStatementSigned } from '../../protocol/rollout-statement.js';
import { checkNextRoot, parseRoot, verifyForRole, type RootEnvelope, type RootSigned } from '../../protocol/trust/root.js';
import { checkSettings, parsePolicy, type PolicySigned } from '../../protocol/trust/settings-policy.js';
import { isExpired } from '../../protocol/trust/time.js';
import { errorText, fail, pass, skip, verdictOf, type Check } from './qa-check.js';
import type { RolloutView } from './server-views.js';
import { stageWords } from '../cli/rollout-spec.js';

/** States in which a rollout serves its statements to devices (protocol §5: completed keeps serving). */
const SERVING = new Set(['running', 'paused', 'completed']);

/**
 * protocol §2 / TUF 5.3: from the pinned root, GET /v1/trust/root/{n} for
 * n = trusted+1… until 404, each version accepted only under checkNextRoot;
 * the newest must not have expired and must be what GET /v1/trust/root serves.
 */
export async function checkRootChain(
  fetchVersion: (n: number) => Promise<unknown>,
  fetchCurrent: () => Promise<unknown>,
  pinned: RootEnvelope,
  now: Date,
): Promise<{ check: Check; root: RootSigned }> {
  let trusted = pinned;
  for (let step = 0; step < 1024; step++) {
    const n = trusted.signed.version + 1;
    const raw = await fetchVersion(n);
    if (raw === undefined) break;
    let next: RootEnvelope;
    try {
      next = parseRoot(raw);
    } catch (e) {
      return { check: fail('root-chain', `root v${n} served by the server is malformed: ${errorText(e)}`), root: trusted.signed };
    }
    const reasons = checkNextRoot(trusted.signed, next);
    if (reasons.length) return { check: fail('root-chain', `root v${n} is refused by the TUF rules (protocol §2): a forged or broken rotation`, reasons), root: trusted.signed };
    trusted = next;
  }
  const root = trusted.signed;
  const problems: string[] = [];
  if (isExpired(root.expires, now)) problems.push(`the newest root v${root.version} expired at ${root.expires}`);
  const current = await fetchCurrent();
  if (current === undefined || canonicalJson(current) !== canonicalJson(trusted)) {
    problems.push(`GET /v1/trust/root does not serve root v${root.version}, the newest the chain reaches`);
  }
  const ok = root.version === pinned.signed.version
    ? `the pinned root v${root.version} is the newest the server serves (no rotation to verify), expires ${root.expires}`
    : `root chain v${pinned.signed.version} → v${root.version} verified (each step signed by thresholds of N and N+1), expires ${root.expires}`;
  return { check: verdictOf('root-chain', problems, ok, 'the root chain is not acceptable'), root };
}

/** protocol §3: the settings policy must be signed by a threshold of the newest root's root role. */
export function checkPolicy(root: RootSigned, raw: unknown): { check: Check; policy?: PolicySigned } {
  let policy;
  try {
    policy = parsePolicy(raw);
  } catch (e) {
    return { check: fail('policy', `GET /v1/trust/policy is malformed: ${errorText(e)}`) };
  }
  const t = verifyForRole(root, 'root', policy);
  if (!t.met) return { check: fail('policy', `settings policy v${policy.signed.version} is not signed by the root role of root v${root.version}: ${describeThreshold('root', t)}`) };
  return { check: pass('policy', `settings policy v${policy.signed.version} signed by the root role (${t.valid.length}/${t.threshold})`), policy: policy.signed };
}

export interface ReleaseChecks {
  checks: Check[];
  release?: ReleaseSigned;
  /** manifestSha256 recomputed from the release (protocol §4), never the server's claim. */
  digest?: string;
}

/** protocol §4: GET /v1/releases/{id} `.release`: release-role threshold, the rollout's release, its digest, expiry. */
export function checkRelease(root: RootSigned, view: unknown, rollout: RolloutView, now: Date): ReleaseChecks {
  if (view === undefined) return { checks: [fail('release', `the server has no release ${rollout.releaseId}, which rollout ${rollout.id} ships`)] };
  let envelope;
  try {
    envelope = parseRelease((view as { release?: unknown } | null)?.release);
  } catch (e) {
    return { checks: [fail('release', `release ${rollout.releaseId} is malformed: ${errorText(e)}`)] };
  }
  const r = envelope.signed;
  const digest = manifestSha256(r);
  const t = verifyForRole(root, 'release', envelope);
  const signatures = t.met
    ? pass('release-signatures', `release ${r.id} signed by ${t.valid.length} of the release role's keys (threshold ${t.threshold})`)
    : fail('release-signatures', `release ${r.id} does not meet the release role's threshold: ${describeThreshold('release', t)}`);
  const problems: string[] = [];
  if (r.id !== rollout.releaseId) problems.push(`the release served is ${r.id}, the rollout ships ${rollout.releaseId}`);
  const claimed = (view as { manifestSha256?: unknown }).manifestSha256;
  if (claimed !== undefined && claimed !== digest) problems.push(`the server says manifestSha256 ${String(claimed)}, SHA-256(JCS(signed)) is ${digest}`);
  if (r.expires !== undefined && isExpired(r.expires, now) && SERVING.has(rollout.state)) problems.push(`the release expired at ${r.expires}: devices refuse it`);
  const manifest = verdictOf('release-manifest', problems, `release ${r.id} ${r.version ?? '(settings only)'}, manifestSha256 ${digest.slice(0, 16)}…`, `release ${r.id} does not match the rollout`);
  return { checks: [signatures, manifest], release: r, digest };
}

/** protocol §3 P1–P2: the release's settings against the verified policy. */
export function checkReleasePolicy(policy: PolicySigned | undefined, release: ReleaseSigned | undefined): Check {
  if (!policy || !release) return skip('release-policy', 'no verified policy or release to check');
  const violations = checkSettings(policy, release.settings);
  return verdictOf('release-policy', violations.map((v) => `${v.rule} ${v.key}: ${v.message}`),
    `release settings ${release.settings.map((s) => `${s.key}=${JSON.stringify(s.value)} (${s.mode})`).join(', ') || '(none)'} allowed by policy v${policy.version}`,
    'the release violates the settings policy');
}

/**
 * How many stages must / may have a statement (protocol §6: one per stage
 * reached, all of them once completed). A cancelled rollout may have been
 * cancelled as a draft, before any statement was signed.
 */
export function reachedStages(r: RolloutView): { min: number; max: number } {
  const upTo = Math.min(r.currentStage + 1, r.stages.length);
  if (r.state === 'completed') return { min: r.stages.length, max: r.stages.length };
  if (r.state === 'draft') return { min: 0, max: 0 };
  if (r.state === 'cancelled') return { min: 0, max: upTo };
  return { min: upTo, max: upTo };
}

export interface StatementChecks {
  checks: Check[];
  /** Statements that parse and verify by the online role, by stage: the devices' view of the eligibility rule. */
  byStage: Map<number, RolloutStatementSigned>;
}

/**
 * protocol §6: every statement verifies by the online role, binds this
 * release's manifest, and carries the rollout's salt and its stage's cohort
 * and basis points; one per reached stage, none beyond; unexpired while served.
 */
export function checkStatements(root: RootSigned, rollout: RolloutView, digest: string | undefined, now: Date): StatementChecks {
  const byStage = new Map<number, RolloutStatementSigned>();
  const signatureProblems: string[] = [];
  const bindingProblems: string[] = [];
  const ruleProblems: string[] = [];
  const expired: string[] = [];
  rollout.statements.forEach((raw, i) => {
    let env;
    try {
      env = parseStatement(raw);
    } catch (e) {
      signatureProblems.push(`statements[${i}] is malformed: ${errorText(e)}`);
      return;
    }
    const s = env.signed;
    const t = verifyForRole(root, 'online', env);
    if (!t.met) {
      signatureProblems.push(`${stageWords(s.stage)}: ${describeThreshold('online', t)}`);
      return;
    }
    if (byStage.has(s.stage)) ruleProblems.push(`${stageWords(s.stage)} has more than one statement`);
    byStage.set(s.stage, s);
    if (s.rolloutId !== rollout.id) bindingProblems.push(`${stageWords(s.stage)}: statement is for rollout ${s.rolloutId}`);
    if (s.releaseId !== rollout.releaseId) bindingProblems.push(`${stageWords(s.stage)}: statement names release ${s.releaseId}, the rollout ships ${rollout.releaseId}`);
    if (digest !== undefined && s.manifestSha256 !== digest) bindingProblems.push(`${stageWords(s.stage)}: statement binds manifest ${s.manifestSha256.slice(0, 16)}…, the release's SHA-256(JCS(signed)) is ${digest.slice(0, 16)}…`);
    const stage = rollout.stages[s.stage];
    if (s.salt !== rollout.salt) ruleProblems.push(`${stageWords(s.stage)}: the signed statement carries salt ${s.salt}, the rollout now says ${rollout.salt}`);
    if (!stage) ruleProblems.push(`${stageWords(s.stage)}: the rollout has no such stage`);
    else {
      if (s.cohort !== stage.cohort) ruleProblems.push(`${stageWords(s.stage)}: statement cohort ${s.cohort}, the rollout's stage says ${stage.cohort}`);
      if (s.basisPoints !== stage.basisPoints) ruleProblems.push(`${stageWords(s.stage)}: statement basisPoints ${s.basisPoints}, the rollout's stage says ${stage.basisPoints}`);
    }
    if (isExpired(s.expires, now)) expired.push(`${stageWords(s.stage)} expired at ${s.expires}`);
  });
  const reached = reachedStages(rollout);
  for (let j = 0; j < reached.min; j++) if (!byStage.has(j)) ruleProblems.push(`${stageWords(j)} was reached but has no valid statement`);
  for (const j of byStage.keys()) if (j >= reached.max) ruleProblems.push(`${stageWords(j)} has a statement but the rollout (${rollout.state}, ${stageWords(rollout.currentStage)}) has not reached it`);

  const n = rollout.statements.length;
  const checks = [
    verdictOf('statement-signatures', signatureProblems, `${n} statement${n === 1 ? '' : 's'} signed by the online role`, 'a rollout statement is not signed by the online role'),
    verdictOf('statement-binding', bindingProblems, `every statement binds release ${rollout.releaseId} by its manifestSha256`, 'a statement binds another manifest (mix-and-match)'),
    verdictOf('statement-rule', ruleProblems, `salt, stage, cohort and basisPoints of ${byStage.size} statement${byStage.size === 1 ? '' : 's'} match the rollout's stages`,
      "the signed eligibility rule and the rollout disagree (eligibility rule changed behind the server's back?)"),
    expired.length === 0 ? pass('statement-expiry', 'no statement has expired')
    : SERVING.has(rollout.state) ? fail('statement-expiry', `statements of a ${rollout.state} rollout have expired: the server is not re-signing them (protocol §6)`, expired)
    : pass('statement-expiry', `statements have expired, as they should once a rollout is ${rollout.state}`),
  ];
  return { checks, byStage };
}
