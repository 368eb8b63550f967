import type { FleetProgress, FleetResult } from './fleet-simulator.js';
import type { SettingCounts } from './fleet-tally.js';
import { table } from '../cli/text-table.js';

const list = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** One progress line (updated in place on a TTY, printed periodically otherwise). */
export function progressLine(p: FleetProgress): string {
  return [
    `fleet: ${p.phase} ${p.elapsedSeconds.toFixed(1)}/${p.durationSeconds} s`,
    `round ${p.round}`,
    `enrolled ${p.enrolled}/${p.devices}${p.enrollFailed ? ` (${p.enrollFailed} failed)` : ''}`,
    `checks ${p.checks} (offline ${p.offline})`,
    `applied ${p.applied}`,
    `failed ${p.failed}`,
    `rejected ${p.rejected}`,
    `in progress ${p.inProgress}`,
    `pending reports ${p.pendingReports}`,
  ].join(' | ');
}

const settingRows = (prefix: string[], counts: SettingCounts): (string | number)[][] =>
  Object.entries(counts).flatMap(([key, rows]) => rows.map((r) => [...prefix, key, JSON.stringify(r.value), r.source, r.devices, r.optedIn]));

/** The final summary: totals, one row per rollout, rejections by reason, settings outcome. */
export function summaryLines(r: FleetResult): string[] {
  const c = r.checks;
  const out = [
    `fleet simulate: ${r.devices} devices (${r.idPrefix}-0…) against ${r.server}, seed ${r.seed}, ${r.elapsedSeconds} s, ${r.rounds} round${r.rounds === 1 ? '' : 's'}`,
    '',
    // A key/value table: no header line.
    ...table(['', ''], [
      ['devices', r.devices],
      ['enrolled', r.enrolled],
      ...(r.enrollFailed ? [['enrollment failed', `${r.enrollFailed} (${list(r.enrollErrors)})`]] : []),
      ['users opted in', r.optedIn],
      ['checks', `${Object.values(c).reduce((a, b) => a + b, 0)} (ok ${c.ok}, not modified ${c.not_modified}, offline ${c.offline}, rate limited ${c.rate_limited}, error ${c.error + c.exception})`],
      ['offers seen', r.offersSeen],
      ['applied', r.applied],
      ['failed', r.failed],
      ['rejected', r.rejected ? `${r.rejected} (${list(r.rejectedBy)})` : 0],
      ['declined', r.declined],
      ['in progress', r.inProgress],
      ['pending reports', r.pendingReports],
      ...(r.refusedReports ? [['reports refused by the server', r.refusedReports]] : []),
    ]).slice(1).map((l) => `  ${l}`),
  ];
  const rollouts = Object.entries(r.rollouts);
  if (rollouts.length) {
    out.push('', ...table(
      ['ROLLOUT', 'RELEASE', 'OFFERED', 'APPLIED', 'FAILED', 'REJECTED', 'DECLINED', 'IN PROGRESS'],
      rollouts.map(([id, t]) => {
        const n = (s: string) => t.counts[s] ?? 0;
        return [id, t.releaseId, t.offered, n('applied'), n('failed'), n('rejected'), n('declined'), ['received', 'downloading', 'downloaded', 'installing'].reduce((a, s) => a + n(s), 0)];
      }),
    ));
    const reasons = rollouts.flatMap(([id, t]) => Object.entries(t.rejectedBy).map(([code, n]) => [id, code, n] as (string | number)[]));
    if (reasons.length) out.push('', 'rejected by reason code', ...table(['ROLLOUT', 'CODE', 'DEVICES'], reasons));
    const reported = rollouts.flatMap(([id, t]) => settingRows([id], t.settings));
    if (reported.length) out.push('', 'settings reported per rollout (what the server counts in its status)', ...table(['ROLLOUT', 'KEY', 'VALUE', 'SOURCE', 'DEVICES', 'OPTED IN'], reported));
  }
  const onDevices = settingRows([], r.settings);
  if (onDevices.length) out.push('', 'settings on the devices at the end', ...table(['KEY', 'VALUE', 'SOURCE', 'DEVICES', 'OPTED IN'], onDevices));
  if (r.errors.length) out.push('', 'unexpected errors', ...r.errors.slice(0, 10).map((e) => `  ${e.count} × ${e.message}`));
  return out;
}
