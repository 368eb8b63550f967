import type { HaltRecord } from '../../openapi/api-types.generated.js';
import { formatPercent } from './rollout-spec.js';

/** What a watching command knows about a rollout: enough to say whether, when and why it halted. */
export interface WatchedRollout {
  id: string;
  state: string;
  lastHalt?: HaltRecord | null;
}

const FAILURE_STATES = ['failed', 'rolled_back', 'rejected', 'timed_out'];

function why(h: HaltRecord): string {
  if (!h.figures) return h.reason ? `reason given: ${h.reason}` : 'halted by hand, no reason given';
  const f = h.figures;
  const byState = FAILURE_STATES.filter((s) => (f.byState[s] ?? 0) > 0).map((s) => `${s} ${f.byState[s]}`).join(', ');
  return `${h.reason ?? `failure rate ${formatPercent(f.rateBasisPoints)}`}; ${f.failures} of ${f.terminal} terminal reports failed${byState ? ` (${byState})` : ''}`;
}

/**
 * protocol §5: a halted rollout stays halted until a release manager
 * cancels it or resumes it acknowledging the halt. Every command that
 * watches a rollout (fleet simulate, rollout status, qa verify) prints this
 * when it finds one halted: when, who, why (the audit figures) and the
 * commands that go on from here. Empty when the rollout is not halted.
 */
export function haltNotice(r: WatchedRollout): string[] {
  if (r.state !== 'halted') return [];
  const h = r.lastHalt ?? null;
  const who = h ? (h.actor === 'system:auto-halt' ? 'automatically' : `by ${h.actor}`) : '';
  const when = h ? ` at ${h.at} (audit entry #${h.auditSeq})` : '';
  return [
    `HALTED: rollout ${r.id} was halted ${who}${when}; it serves no offers.`,
    ...(h ? [`  why: ${why(h)}`] : []),
    'next steps:',
    `  ota rollout devices ${r.id} --state failed      # which devices failed, with their error codes`,
    `  ota rollout resume ${r.id} --acknowledge-halt --reason "TEXT"   # overrule the halt (audit-logged; counts are kept)`,
    `  ota rollout clone ${r.id} --id NEW-ID           # or start over: a fresh draft with the same settings and a new salt`,
    `  ota rollout cancel ${r.id}                       # or stop it for good`,
  ];
}
