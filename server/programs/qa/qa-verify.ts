import { canonicalJson } from '../../protocol/crypto/canonical.js';
import type { HaltRecord } from '../../rollouts/rollout.js';
import type { RootEnvelope } from '../../protocol/trust/root.js';
import { checkAudit } from './audit-checks.js';
import { checkDeviceSettings, checkEligibility, checkStatusMatchesDevices, checkStatusSettings, DeviceSurvey } from './device-checks.js';
import type { Check } from './qa-check.js';
import { createQaSource } from './qa-source.js';
import { parseDeviceRow, parseRolloutView, parseStatusView, type StatusView } from './server-views.js';
import { checkPolicy, checkRelease, checkReleasePolicy, checkRootChain, checkStatements } from './trust-checks.js';

export interface QaVerifyOptions {
  server: string;
  token: string;
  /** The root QA trusts, parsed (protocol §2: the chain is walked from it). */
  pinnedRoot: RootEnvelope;
  rolloutId: string;
  /** Devices whose eligibility is recomputed; 0 = every device listed. */
  sample: number;
  /** Seed of the sample, so a run can be repeated. */
  seed: string;
  now: Date;
  fetch?: typeof fetch;
  pageLimit?: number;
}

export interface QaReport {
  server: string;
  rolloutId: string;
  releaseId: string;
  state: string;
  stage: number;
  /** GET /v1/rollouts/{id} `lastHalt` as served (why a halted rollout halted), or null. */
  lastHalt: HaltRecord | null;
  seed: string;
  devicesListed: number;
  devicesSampled: number;
  checks: Check[];
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
}

const countersOf = (s: StatusView): string => canonicalJson({ offered: s.offered, counts: s.counts, settings: s.settings });

/**
 * `ota qa verify`: an independent check of one rollout. Everything the
 * server says is re-verified with the shared pure modules (crypto, trust,
 * bucket, audit chain, release manifest): signatures and thresholds from
 * the pinned root, the statements' binding and eligibility rule, each
 * sampled device's bucket, settings compliance, and the audit hash chain.
 */
export async function qaVerify(o: QaVerifyOptions): Promise<QaReport> {
  const src = createQaSource({ server: o.server, token: o.token, ...(o.fetch ? { fetch: o.fetch } : {}), ...(o.pageLimit ? { pageLimit: o.pageLimit } : {}) });
  const checks: Check[] = [];

  // Trust: root chain, then the policy under the newest root (protocol §2–§3).
  const chain = await checkRootChain(src.rootVersion, src.currentRoot, o.pinnedRoot, o.now);
  checks.push(chain.check);
  const policy = checkPolicy(chain.root, await src.policy());
  checks.push(policy.check);

  // The rollout, its release and its statements (protocol §4–§6).
  const rollout = parseRolloutView(await src.rollout(o.rolloutId));
  const release = checkRelease(chain.root, await src.release(rollout.releaseId), rollout, o.now);
  checks.push(...release.checks, checkReleasePolicy(policy.policy, release.release));
  const statements = checkStatements(chain.root, rollout, release.digest, o.now);
  checks.push(...statements.checks);

  // Devices: one pass over the list between two reads of the status.
  const before = parseStatusView(await src.status(rollout.id));
  const releaseKeys = new Set((release.release?.settings ?? []).map((s) => s.key));
  const survey = new DeviceSurvey(o.sample, o.seed, releaseKeys, policy.policy);
  for await (const page of src.devicePages(rollout.id)) for (const row of page) survey.add(parseDeviceRow(row));
  const after = parseStatusView(await src.status(rollout.id));
  checks.push(
    checkEligibility(survey, statements.byStage),
    checkStatusSettings(after, policy.policy),
    checkDeviceSettings(survey, policy.policy),
    checkStatusMatchesDevices(survey, after, countersOf(before) === countersOf(after)),
  );

  checks.push(...(await checkAudit(src.auditPages(), rollout)));

  const passed = checks.filter((c) => c.verdict === 'PASS').length;
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  return {
    server: o.server,
    rolloutId: rollout.id,
    releaseId: rollout.releaseId,
    state: rollout.state,
    stage: rollout.currentStage,
    lastHalt: rollout.lastHalt ?? null,
    seed: o.seed,
    devicesListed: survey.listed,
    devicesSampled: survey.sample.length,
    checks,
    passed,
    failed,
    skipped: checks.length - passed - failed,
    ok: failed === 0,
  };
}
