import type { Sql } from '../../server/db/sql.js';
import { counterKey } from '../../server/rollouts/rollout-counters.js';

type Settings = Record<string, { value: unknown; source: string }>;

/**
 * Recomputes a rollout's counters the slow way, from the reports table (the
 * latest report per device, settings folded in seq order) and the offers in
 * rollout_devices, independently of the server's incremental bookkeeping.
 * Keys with a zero count are left out on both sides.
 */
export async function recountCounters(sql: Sql, rolloutId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const add = (k: string, n = 1) => {
    out[k] = (out[k] ?? 0) + n;
  };
  const releaseId = (await sql.value<string>('SELECT release_id FROM rollouts WHERE id = ?', [rolloutId])) as string;
  const envelope = JSON.parse((await sql.value<string>('SELECT envelope FROM releases WHERE id = ?', [releaseId])) as string) as {
    signed: { settings: { key: string }[] };
  };
  const tracked = new Set(envelope.signed.settings.map((s) => s.key));

  const offers = await sql.all<{ device_id: string; stage: number; state: string | null }>(
    'SELECT device_id, stage, state FROM rollout_devices WHERE rollout_id = ?', [rolloutId],
  );
  const reports = await sql.all<{ device_id: string; seq: number; state: string; body: string }>(
    'SELECT device_id, seq, state, body FROM reports WHERE rollout_id = ? ORDER BY device_id, seq', [rolloutId],
  );
  const byDevice = new Map<string, { state: string; settings: Settings }>();
  for (const r of reports) {
    const cur = byDevice.get(r.device_id) ?? { state: r.state, settings: {} };
    cur.state = r.state;
    const body = JSON.parse(r.body) as { settings?: Settings };
    for (const [k, v] of Object.entries(body.settings ?? {})) if (tracked.has(k)) cur.settings[k] = v;
    byDevice.set(r.device_id, cur);
  }

  for (const o of offers) {
    add('offered');
    add(`offered:${o.stage}`);
    const reported = byDevice.get(o.device_id);
    if (!reported) {
      if (o.state !== null) throw new Error(`${o.device_id} has state ${o.state} but no report`);
      continue;
    }
    add(`reported:${o.stage}`);
    // A derived timed_out replaces a non-terminal latest report (protocol §5).
    add(`state:${o.state === 'timed_out' ? 'timed_out' : reported.state}`);
    for (const [k, v] of Object.entries(reported.settings)) add(counterKey.setting(k, v.value, v.source));
  }
  for (const id of byDevice.keys()) if (!offers.some((o) => o.device_id === id)) throw new Error(`${id} reported but has no offer row`);
  return out;
}

/** The server's counters for a rollout, zero entries left out. */
export async function storedCounters(sql: Sql, rolloutId: string): Promise<Record<string, number>> {
  const rows = await sql.all<{ key: string; value: number }>('SELECT key, value FROM rollout_counters WHERE rollout_id = ?', [rolloutId]);
  return Object.fromEntries(rows.filter((r) => r.value !== 0).map((r) => [r.key, r.value]));
}

/** rollout_devices.state must be the latest report's state (or a derived timed_out over a non-terminal one). */
export async function latestStatesAgree(sql: Sql, rolloutId: string): Promise<string[]> {
  const rows = await sql.all<{ device_id: string; state: string | null; latest: string | null }>(
    `SELECT d.device_id, d.state,
       (SELECT r.state FROM reports r WHERE r.device_id = d.device_id AND r.rollout_id = d.rollout_id ORDER BY r.seq DESC LIMIT 1) AS latest
     FROM rollout_devices d WHERE d.rollout_id = ?`, [rolloutId],
  );
  const nonTerminal = new Set(['received', 'downloading', 'downloaded', 'installing']);
  return rows
    .filter((r) => !(r.state === r.latest || (r.state === 'timed_out' && r.latest !== null && nonTerminal.has(r.latest))))
    .map((r) => `${r.device_id}: stored ${r.state}, latest report ${r.latest}`);
}
