import type * as Api from '../../openapi/api-types.generated.js';
import { haltNotice } from './halt-notice.js';
import { formatPercent } from './rollout-spec.js';
import { table } from './text-table.js';

/** A rollout as GET/POST /v1/rollouts answer it, as the contract generates it (npm run gen:api). */
export type RolloutView = Api.RolloutView;
type RolloutStatus = Api.RolloutStatus;
type RolloutState = Api.RolloutState;
type Stage = Api.Stage;

const stageText = (s: Pick<Stage, 'cohort' | 'basisPoints'>): string => `${s.cohort} ${formatPercent(s.basisPoints)}`;

/** Where a rollout stands, in one line: `running, stage 2 of 3 (all 10%)`. */
export function positionOf(r: { state: RolloutState; stages: Pick<Stage, 'cohort' | 'basisPoints'>[]; stage: number }): string {
  const current = r.stages[r.stage];
  if (r.state === 'draft') return `draft, ${r.stages.length} stage${r.stages.length === 1 ? '' : 's'}: ${r.stages.map(stageText).join(' → ')}`;
  return `${r.state}, stage ${r.stage + 1} of ${r.stages.length}${current ? ` (${stageText(current)})` : ''}`;
}

export const rolloutSummary = (r: RolloutView): string =>
  `rollout ${r.id} (release ${r.releaseId}): ${positionOf({ state: r.state, stages: r.stages, stage: r.currentStage })}`;

export const rolloutRows = (rollouts: readonly RolloutView[]) =>
  table(
    ['ID', 'RELEASE', 'STATE', 'STAGE', 'UPDATED'],
    rollouts.map((r) => [r.id, r.releaseId, r.state, `${r.currentStage + 1}/${r.stages.length} ${stageText(r.stages[r.currentStage] as Stage)}`, r.updatedAt]),
  );

function failureLine(f: RolloutStatus['failure']): string {
  const rate = `${formatPercent(f.rateBasisPoints)} (${f.failures} of ${f.terminal} terminal report${f.terminal === 1 ? '' : 's'})`;
  const limit = `halts above ${formatPercent(f.maxFailureBasisPoints)} once ${f.minTerminalReports} terminal`;
  const over = f.terminal >= f.minTerminalReports && f.failures * 10_000 > f.maxFailureBasisPoints * f.terminal;
  const waiting = f.terminal < f.minTerminalReports ? `, ${f.minTerminalReports - f.terminal} more before it can` : '';
  return `${rate}; ${limit}${over ? ' — OVER THE THRESHOLD' : waiting}`;
}

/** Why status has no eligible count (docs/protocol-notes.md "Eligible is never below offered"). */
const notCounted = (state: string): string =>
  ['halted', 'cancelled'].includes(state) ? `not counted (the census counts serving rollouts; this one was ${state} before the server last started)` : 'not counted yet (the census runs in the background)';

/** GET /v1/rollouts/{id}/status as the tables QA reads (protocol §7). */
export function statusLines(s: RolloutStatus): string[] {
  const lines: string[] = [];
  const eligible = s.eligible === null ? notCounted(s.state) : `${s.eligible}${s.eligibleComputedAt ? ` (census of ${s.eligibleComputedAt}; never below offered)` : ''}`;
  lines.push(`rollout ${s.id} (release ${s.releaseId}), statements v${s.statementVersion}`);
  lines.push(`state     ${positionOf(s)}`);
  lines.push(`eligible  ${eligible}`);
  lines.push(`offered   ${s.offered}`);
  lines.push(`reported  ${s.reported}`);
  lines.push(`failure   ${failureLine(s.failure)}`);
  const o = s.overruledHalt;
  if (o && s.failure.sinceOverruled) {
    const since = s.failure.sinceOverruled;
    lines.push(`overruled a halt at ${o.at} by ${o.actor}: "${o.reason}"; since then ${since.failures} of ${since.terminal} terminal reports failed (auto-halt judges these)`);
  }
  const halted = haltNotice({ id: s.id, state: s.state, lastHalt: s.lastHalt });
  if (halted.length) lines.push('', ...halted);
  lines.push('', 'latest state per device');
  const states = Object.entries(s.counts);
  lines.push(...table(states.map(([k]) => k.toUpperCase()), [states.map(([, n]) => n)]).map((l) => `  ${l}`));

  lines.push('', 'stages (numbered from 1; --json counts from 0)');
  lines.push(
    ...table(
      ['STAGE', 'COHORT', 'PERCENT', 'REACHED', 'ELIGIBLE', 'OFFERED', 'REPORTED', 'SILENT'],
      s.stages.map((st) => [st.stage + 1, st.cohort, formatPercent(st.basisPoints), st.reached ? 'yes' : 'no', st.eligible, st.offered, st.reported, st.silent]),
    ).map((l) => `  ${l}`),
  );

  // protocol §7: say in words when a stage's maintenance window next opens.
  for (const st of s.stages) if ('windowNow' in st && st.windowNow) lines.push(`  stage ${st.stage + 1} maintenance window: ${st.windowNow}`);
  if (s.releaseWithdrawn) lines.push('', `RELEASE WITHDRAWN at ${s.releaseWithdrawn.at}: ${s.releaseWithdrawn.reason} (offered by no rollout)`);

  lines.push('', 'settings compliance (devices per reported value × source)');
  const rows = Object.entries(s.settings).flatMap(([key, pairs]) =>
    pairs.length ? pairs.map((p, i) => [i === 0 ? key : '', JSON.stringify(p.value), p.source, p.devices]) : [[key, '-', '-', 0]],
  );
  if (rows.length) lines.push(...table(['KEY', 'VALUE', 'SOURCE', 'DEVICES'], rows).map((l) => `  ${l}`));
  else lines.push('  (the release changes no settings)');
  lines.push(`  consent settings on without the user's choice: ${s.compliance.consentOnByDefault}`);

  lines.push('', `silent devices (offered, nothing reported; first ${s.silentDevices.length})`);
  if (s.silentDevices.length) {
    lines.push(...table(['DEVICE', 'STAGE', 'OFFERED AT', 'LAST SEEN'], s.silentDevices.map((d) => [d.deviceId, d.stage + 1, d.offeredAt, d.lastSeen])).map((l) => `  ${l}`));
  } else lines.push('  none');
  return lines;
}
