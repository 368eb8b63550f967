import { useState } from 'preact/hooks';
import { ROLLOUT_STATES } from '../../../rollouts/rollout-state.js';
import { allPages, enc } from './api.js';
import type { Session } from './app.js';
import { Problem, StateBadge, useLoad } from './common.js';
import { percent } from './format.js';
import { href } from './route.js';
import type { Rollout, RolloutStatus } from './types.js';

const PAGE = 25;
const IN_PROGRESS = ['received', 'downloading', 'downloaded', 'installing'];
const FAILED = ['failed', 'rolled_back', 'rejected', 'timed_out'];

const sum = (counts: Record<string, number>, keys: string[]) => keys.reduce((n, k) => n + (counts[k] ?? 0), 0);

/** protocol §10: every rollout with its id (a link to its page), state and stage; issue 11 adds the figures. */
export function RolloutsPage({ session }: { session: Session }) {
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const list = useLoad(() => allPages<Rollout>(session.api, '/v1/rollouts', 'rollouts'), 'rollouts');
  const shown = (list.data ?? []).filter((r) => !filter || r.state === filter);
  const visible = shown.slice(page * PAGE, (page + 1) * PAGE);
  const ids = visible.map((r) => r.id).join(',');
  const statuses = useLoad(
    () => Promise.all(visible.map((r) => session.api<RolloutStatus>('GET', `/v1/rollouts/${enc(r.id)}/status`))),
    `status:${ids}`,
  );
  const statusOf = new Map((statuses.data ?? []).map((s) => [s.id, s]));
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));

  return (
    <>
      <h1>Rollouts</h1>
      <div class="toolbar">
        <label for="state-filter">State</label>
        <select
          id="state-filter"
          value={filter}
          onChange={(e) => {
            setFilter(e.currentTarget.value);
            setPage(0);
          }}
        >
          <option value="">all states</option>
          {ROLLOUT_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => (list.reload(), statuses.reload())}>
          Refresh
        </button>
        <span role="status" class="muted">
          {list.loading ? 'Loading…' : `${shown.length} rollout${shown.length === 1 ? '' : 's'}`}
        </span>
      </div>
      <Problem text={list.error ?? statuses.error} />
      <div class="table-wrap">
        <table class="rollouts">
          <caption class="visually-hidden">Rollouts{filter ? ` in state ${filter}` : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Rollout</th>
              <th scope="col">Release</th>
              <th scope="col">State</th>
              <th scope="col">Stage</th>
              <th scope="col" class="num">Applied</th>
              <th scope="col" class="num">Failed</th>
              <th scope="col" class="num">In progress</th>
              <th scope="col">Failure rate / threshold</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((r) => {
              const s = statusOf.get(r.id);
              const over = s ? s.failure.rateBasisPoints > s.failure.maxFailureBasisPoints : false;
              return (
                <tr key={r.id} class={r.state === 'halted' ? 'row-halted' : undefined} data-rollout={r.id}>
                  <th scope="row">
                    <a href={href.rollout(r.id)}>{r.id}</a>
                  </th>
                  <td>
                    <a href={href.release(r.releaseId)}>{r.releaseId}</a>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td>
                    {r.state === 'draft' ? 'not started' : `${r.currentStage + 1} of ${r.stages.length}`}
                  </td>
                  <td class="num">{s ? (s.counts.applied ?? 0) : '…'}</td>
                  <td class="num">{s ? sum(s.counts, FAILED) : '…'}</td>
                  <td class="num">{s ? sum(s.counts, IN_PROGRESS) : '…'}</td>
                  <td>
                    {s ? (
                      <span class={over ? 'over' : undefined}>
                        {over && <span aria-hidden="true">▲ </span>}
                        {percent(s.failure.rateBasisPoints)} / {percent(s.failure.maxFailureBasisPoints)}
                        {over ? ' (over)' : ''}
                      </span>
                    ) : (
                      '…'
                    )}
                  </td>
                </tr>
              );
            })}
            {!list.loading && visible.length === 0 && (
              <tr>
                <td colSpan={8}>No rollouts{filter ? ` in state ${filter}` : ''}.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <nav class="pager" aria-label="Rollout pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            page {page + 1} of {pages}
          </span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      )}
    </>
  );
}
