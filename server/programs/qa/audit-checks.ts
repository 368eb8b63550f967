import { auditLinkHash, GENESIS_HASH, verifyAuditChain, type AuditEntry } from '../../audit/audit-chain.js';
import { fail, pass, skip, verdictOf, type Check } from './qa-check.js';
import type { RolloutView } from './server-views.js';
import { stageWords } from '../cli/rollout-spec.js';

const HASH = /^[0-9a-f]{64}$/;

function asEntry(v: unknown): AuditEntry | undefined {
  const e = v as Partial<AuditEntry> | null;
  const ok = e !== null && typeof e === 'object' && Number.isSafeInteger(e.seq) && typeof e.at === 'string' && typeof e.actor === 'string' &&
    typeof e.action === 'string' && typeof e.subject === 'string' && e.details !== null && typeof e.details === 'object' &&
    typeof e.prevHash === 'string' && HASH.test(e.prevHash) && typeof e.hash === 'string' && HASH.test(e.hash);
  return ok ? (e as AuditEntry) : undefined;
}

/** The state a rollout audit entry moved the rollout to, when it says so (`details.to`). */
const movedTo = (e: AuditEntry): { state: string; stage: number } | undefined => {
  const to = (e.details as { to?: { state?: unknown; stage?: unknown } }).to;
  return to && typeof to.state === 'string' && Number.isSafeInteger(to.stage) ? { state: to.state, stage: to.stage as number } : undefined;
};

/**
 * protocol §7: GET /v1/audit?cursor= paged to the end, every entry's own
 * hash recomputed (SHA-256 of JCS of the entry without `hash`) and its
 * prevHash checked against SHA-256 of JCS of the previous entry as served,
 * from the genesis hash (verifyAuditChain). Also: the rollout's latest recorded transition
 * matches its state, so a state changed without an audit entry shows.
 */
export async function checkAudit(pages: AsyncIterable<unknown[]>, rollout: RolloutView): Promise<Check[]> {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let chain: Check | undefined;
  let mentions = 0;
  let last: { state: string; stage: number; seq: number } | undefined;
  for await (const page of pages) {
    const entries: AuditEntry[] = [];
    for (const raw of page) {
      const e = asEntry(raw);
      if (!e) {
        chain ??= fail('audit-chain', `audit entry after seq ${expectedSeq - 1} is malformed`);
        break;
      }
      if (e.seq !== expectedSeq) chain ??= fail('audit-chain', `audit entry seq ${e.seq} follows seq ${expectedSeq - 1}: entries are missing or out of order`);
      expectedSeq = e.seq + 1;
      entries.push(e);
      if (e.subject === rollout.id && e.action.startsWith('rollout.')) {
        mentions += 1;
        const to = movedTo(e);
        if (to) last = { ...to, seq: e.seq };
      }
    }
    if (chain) break;
    const r = verifyAuditChain(entries, prev);
    if (!r.ok) {
      chain = fail('audit-chain', `the audit hash chain is broken at seq ${r.brokenAt}: ${r.reason}`);
      break;
    }
    checked += entries.length;
    const lastOfPage = entries[entries.length - 1];
    if (lastOfPage) prev = auditLinkHash(lastOfPage);
  }
  chain ??= pass('audit-chain', `${checked} audit entries, each hash recomputed and linked to the previous entry from the genesis hash`);

  let trail: Check;
  if (chain.verdict === 'FAIL') trail = skip('audit-rollout', 'not checked: the audit chain is broken');
  else if (mentions === 0) trail = fail('audit-rollout', `the audit log has no entry for rollout ${rollout.id}`);
  else {
    const problems: string[] = [];
    const expected = last ?? { state: 'draft', stage: 0, seq: 0 };
    if (expected.state !== rollout.state || (rollout.state !== 'draft' && expected.stage !== rollout.currentStage)) {
      problems.push(`rollout is ${rollout.state} at ${stageWords(rollout.currentStage)}, its latest audit entry${last ? ` (seq ${last.seq})` : ''} leaves it ${expected.state} at ${stageWords(expected.stage)}`);
    }
    trail = verdictOf('audit-rollout', problems, `${mentions} audit entr${mentions === 1 ? 'y' : 'ies'} for rollout ${rollout.id}; the latest matches its state (${rollout.state}, ${stageWords(rollout.currentStage)})`,
      'the rollout changed without an audit record');
  }
  return [chain, trail];
}
