import { useEffect } from 'preact/hooks';
import { allPages, enc } from './api.js';
import type { Session } from './app.js';
import { Problem, Section, StateBadge, useLoad } from './common.js';
import { FailureChart } from './failure-chart.js';
import { FailurePolicyEditor } from './failure-policy-editor.js';
import { duration, percent, when } from './format.js';
import { href } from './route.js';
import { RolloutActions } from './rollout-actions.js';
import { Compliance, FailingDevices, Funnel, SilentDevices } from './rollout-sections.js';
import type { AuditEntry, Policy, Rollout, RolloutStatus, Timeline } from './types.js';

const REFRESH_MS = 5000;

interface Detail {
  rollout: Rollout;
  status: RolloutStatus;
  timeline: Timeline;
  history: AuditEntry[];
}

/** What the rollout's page shows at once; one refresh reloads all of it. */
async function loadDetail(session: Session, id: string): Promise<Detail> {
  const base = `/v1/rollouts/${enc(id)}`;
  const [rollout, status, timeline, history] = await Promise.all([
    session.api<Rollout>('GET', base),
    session.api<RolloutStatus>('GET', `${base}/status`),
    session.api<Timeline>('GET', `${base}/timeline`),
    allPages<AuditEntry>(session.api, `/v1/audit?order=desc&subject=${enc(id)}`, 'entries', 200, 5),
  ]);
  return { rollout, status, timeline, history };
}

/** The latest halt on the record: who, when and why (auto-halt records its figures as the reason). */
function lastHalt(history: AuditEntry[]): AuditEntry | undefined {
  return history.find((e) => e.action === 'rollout.halt');
}

/** When each stage was reached: the audit entries that moved the rollout to it (start, advance). */
function reachedAt(history: AuditEntry[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of [...history].reverse()) {
    const to = (e.details as { to?: { stage?: unknown; state?: unknown } }).to;
    if ((e.action === 'rollout.start' || e.action === 'rollout.advance') && typeof to?.stage === 'number' && !out.has(to.stage)) out.set(to.stage, e.at);
  }
  return out;
}

export function RolloutPage({ id, session }: { id: string; session: Session }) {
  const detail = useLoad(() => loadDetail(session, id), `rollout:${id}`);
  const policy = useLoad(() => fetch('/v1/trust/policy', { cache: 'no-store' }).then((r) => r.json() as Promise<Policy>), 'policy');
  const state = detail.data?.rollout.state;

  // protocol §10 / issue 11: the page refreshes itself while the rollout runs.
  useEffect(() => {
    if (state !== 'running') return;
    const t = setInterval(detail.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [state, detail.reload]);

  const d = detail.data;
  if (!d) {
    return (
      <>
        <h1>Rollout {id}</h1>
        <Problem text={detail.error} />
        {!detail.error && <p role="status">Loading…</p>}
      </>
    );
  }
  const { rollout, status, timeline, history } = d;
  const halt = rollout.state === 'halted' ? lastHalt(history) : undefined;
  const haltReason = halt && typeof halt.details.reason === 'string' ? halt.details.reason : undefined;
  const reached = reachedAt(history);
  return (
    <>
      <h1>Rollout {rollout.id}</h1>
      <dl class="facts">
        <dt>State</dt>
        <dd data-testid="rollout-state">
          <StateBadge state={rollout.state} />
        </dd>
        <dt>Release</dt>
        <dd>
          <a href={href.release(rollout.releaseId)}>{rollout.releaseId}</a>
        </dd>
        <dt>Stage</dt>
        <dd>{rollout.state === 'draft' ? 'not started' : `${rollout.currentStage + 1} of ${rollout.stages.length}`}</dd>
        <dt>Failure rate</dt>
        <dd>
          {percent(status.failure.rateBasisPoints)} of {status.failure.terminal} terminal reports; threshold {percent(status.failure.maxFailureBasisPoints)} after{' '}
          {status.failure.minTerminalReports}
        </dd>
        <dt>Devices</dt>
        <dd>
          {status.eligible === null ? 'eligible not counted yet' : `${status.eligible} eligible`} · {status.offered} offered · {status.reported} reported
        </dd>
      </dl>
      {rollout.state === 'halted' && (
        <div class="halt-banner" role="alert" data-testid="halt-reason">
          <strong>
            <span aria-hidden="true">■ </span>Halted
          </strong>
          {halt ? ` by ${halt.actor} at ${when(halt.at)}` : ''}
          {haltReason ? `: ${haltReason}` : halt ? ' (no reason given)' : ''}
        </div>
      )}
      {status.releaseWithdrawn && (
        <div class="halt-banner" role="alert" data-testid="release-withdrawn">
          <strong>Release withdrawn</strong> at {when(status.releaseWithdrawn.at)}: {status.releaseWithdrawn.reason}. No rollout offers it any more.
        </div>
      )}
      <RolloutActions rollout={rollout} session={session} onDone={detail.reload} />
      <FailurePolicyEditor rollout={rollout} session={session} onDone={detail.reload} />
      <p class="muted" role="status">
        {state === 'running' ? `Refreshes every ${REFRESH_MS / 1000} s while running. ` : ''}
        {detail.loading ? 'Refreshing…' : ''}
      </p>
      <Problem text={detail.error} />

      <Section title="Stages">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Cohort</th>
                <th scope="col" class="num">Share</th>
                <th scope="col">Dwell</th>
                <th scope="col">Auto</th>
                <th scope="col">Reached</th>
                <th scope="col" class="num">Eligible</th>
                <th scope="col" class="num">Offered</th>
                <th scope="col" class="num">Reported</th>
                <th scope="col" class="num">Silent</th>
              </tr>
            </thead>
            <tbody>
              {rollout.stages.map((s, j) => {
                const st = status.stages[j];
                const current = rollout.state !== 'draft' && j === rollout.currentStage;
                return (
                  <tr key={j} class={current ? 'current' : undefined} aria-current={current ? 'step' : undefined}>
                    <th scope="row">
                      {j + 1}
                      {current ? ' (current)' : ''}
                    </th>
                    <td>{s.cohort}</td>
                    <td class="num">{percent(s.basisPoints)}</td>
                    <td>{duration(s.minDwellSeconds)}</td>
                    <td>{s.autoAdvance ? 'yes' : 'no'}</td>
                    <td>{st?.reached ? when(reached.get(j) ?? null) || 'yes' : 'not yet'}</td>
                    <td class="num">{st?.eligible ?? '—'}</td>
                    <td class="num">{st?.offered ?? 0}</td>
                    <td class="num">{st?.reported ?? 0}</td>
                    <td class="num">{st?.silent ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Section>
      <Funnel status={status} />
      <FailureChart timeline={timeline} history={history} />
      <Compliance status={status} policy={policy.data} />
      <SilentDevices status={status} />
      <FailingDevices rolloutId={rollout.id} session={session} refreshKey={rollout.updatedAt + status.reported} />
    </>
  );
}
