import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { loadConfig } from '../../server/config.js';
import { createContext } from '../../server/context.js';
import { openSqlite } from '../../server/db/open.js';
import { sqliteSql } from '../../server/db/sqlite-sql.js';
import { loadTrustFolder } from '../../server/trust/trust-folder.js';
import { createTrustState } from '../../server/trust/trust-state.js';
import { makeTrust, tempDir, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, publish } from '../helpers/fleet.js';
import { latestStatesAgree, recountCounters, storedCounters } from '../reports/recount.js';
import { client, inBatches } from './http-client.js';
import { expectDistBuilt, startServerProcess } from '../helpers/server-process.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const ROLLOUT = 'crash-rollout';
const DEVICES = 120;
const SETTING = 'cloud.messaging.enabled';

/** The real server as a child process on the SQLite file in dataDir. */
const startChild = (dataDir: string, trustDir: string) =>
  startServerProcess({ OTA_DATA_DIR: dataDir, OTA_TRUST_DIR: trustDir, OTA_LOG_LEVEL: 'silent', OTA_DEMO: 'false' });

/** Prepares the data folder in-process (tokens, release, fleet, running rollout), then closes it. */
async function prepare(dataDir: string, trust: ReturnType<typeof makeTrust>): Promise<{ devices: Map<string, string>; tokens: Record<OperatorRole, string> }> {
  const config = loadConfig({}, { dataDir, trustDir: trust.dir, logLevel: 'silent', demo: false });
  const sql = openSqlite(join(dataDir, 'ota.db'));
  const ctx = await createContext({ config, sql, trust: createTrustState(loadTrustFolder(trust.dir)), logger: pino({ level: 'silent' }) });
  const tokens = {} as Record<OperatorRole, string>;
  for (const role of OPERATOR_ROLES) tokens[role] = (await ctx.operatorTokens.create(role, `crash-${role}`, '2026-11-24T00:00:00Z')).token;
  const f: AppFixture = { ctx, app: createApp(ctx), trust, tokens, clock: { now: new Date() } };
  await publish(f);
  const devices = new Map<string, string>();
  for (let i = 0; i < DEVICES; i++) {
    const id = `crash-${String(i).padStart(3, '0')}`;
    devices.set(id, await enroll(f.app, tokens.enroller, id));
  }
  await createRollout(f, { id: ROLLOUT, releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 9000, minTerminalReports: 1000, reportTimeoutSeconds: 86400 } });
  expect((await act(f, ROLLOUT, 'start')).status).toBe(200);
  await ctx.activity.flushAll();
  await sql.close();
  return { devices, tokens };
}

/** Each device's reports, fixed so a re-send is byte-for-byte the same report (a duplicate, not a conflict). */
function planOf(id: string, i: number): object[][] {
  const rep = (seq: number, state: string, extra: object = {}) => ({ seq, releaseId: RELEASE, rolloutId: ROLLOUT, state, at: `2026-11-24T12:00:0${seq}Z`, ...extra });
  const last = i % 10 === 0
    ? rep(5, 'failed', { error: { code: 'install_failed', message: `device ${id}` } })
    : rep(5, 'applied', { version: '1.4.3', settings: { [SETTING]: { value: i % 4 === 0, source: i % 4 === 0 ? 'user' : 'default' } } });
  const all = [rep(1, 'received'), rep(2, 'downloading'), rep(3, 'downloaded'), rep(4, 'installing'), last];
  // A third of the fleet sends batches, the rest one report per request.
  return i % 3 === 0 ? [all.slice(0, 2), all.slice(2)] : all.map((r) => [r]);
}

async function check(dataDir: string, acked: ReadonlySet<string>) {
  const sql = sqliteSql(new Database(join(dataDir, 'ota.db')));
  try {
    const stored = new Set((await sql.all<{ device_id: string; seq: number }>('SELECT device_id, seq FROM reports')).map((r) => `${r.device_id}:${r.seq}`));
    const lost = [...acked].filter((k) => !stored.has(k));
    return { stored, lost, counters: await storedCounters(sql, ROLLOUT), recount: await recountCounters(sql, ROLLOUT), disagree: await latestStatesAgree(sql, ROLLOUT) };
  } finally {
    await sql.close();
  }
}

describe('crash test: SIGKILL mid-load loses no acknowledged report (issue 3 acceptance)', () => {
  it('every 2xx report is on disk after SIGKILL, counters equal a recount, and the restarted server carries on', { timeout: 120_000 }, async () => {
    expectDistBuilt();

    const trust = makeTrust();
    const dataDir = tempDir('ota-crash-');
    const { devices, tokens } = await prepare(dataDir, trust);
    const ids = [...devices.keys()];
    const total = ids.length * 5;

    // Load: every device sends its reports in order, all devices at once; SIGKILL once a quarter is acknowledged.
    const first = await startChild(dataDir, trust.dir);
    const api = client(first.url);
    const acked = new Set<string>();
    let killedWith = -1;
    let refused = 0;
    await Promise.all(
      ids.map(async (id, i) => {
        for (const batch of planOf(id, i)) {
          try {
            const res = await api('POST', `/v1/devices/${id}/reports`, { token: devices.get(id), json: batch.length === 1 ? batch[0] : batch });
            if (res.status < 200 || res.status > 299) {
              refused++;
              return;
            }
            for (const r of batch) acked.add(`${id}:${(r as { seq: number }).seq}`);
          } catch {
            return; // the server died under this request
          }
          if (killedWith < 0 && acked.size >= total / 4) {
            // A few ms later, so the kill lands at an arbitrary point of the server's work, not right after a response.
            killedWith = acked.size;
            setTimeout(() => first.proc.kill('SIGKILL'), 5);
          }
        }
      }),
    );
    await first.exited();
    expect(first.proc.signalCode).toBe('SIGKILL');
    expect(refused).toBe(0);
    // Killed mid-load: some acknowledged, some not.
    expect(acked.size).toBeGreaterThan(0);
    expect(acked.size).toBeLessThan(total);

    const afterCrash = await check(dataDir, acked);
    expect(afterCrash.lost).toEqual([]);
    expect(afterCrash.counters).toEqual(afterCrash.recount);
    expect(afterCrash.disagree).toEqual([]);

    // Restart on the same data folder; devices re-send everything (duplicates are no-ops) and finish.
    const second = await startChild(dataDir, trust.dir);
    const api2 = client(second.url);
    await inBatches(ids.map((id, i) => [id, i] as const), 40, async ([id, i]) => {
      for (const batch of planOf(id, i)) {
        const res = await api2('POST', `/v1/devices/${id}/reports`, { token: devices.get(id), json: batch });
        expect(res.status, `${id}: ${res.text}`).toBe(200);
      }
    });
    const failed = ids.filter((_, i) => i % 10 === 0).length;
    const status = await api2('GET', `/v1/rollouts/${ROLLOUT}/status`, { token: tokens.qa });
    expect(status.status, status.text).toBe(200);
    expect(status.body).toMatchObject({ state: 'running', offered: ids.length, reported: ids.length, counts: { applied: ids.length - failed, failed, received: 0, installing: 0 } });
    second.proc.kill('SIGTERM');
    await second.exited();

    const final = await check(dataDir, acked);
    expect(final.stored.size).toBe(total);
    expect(final.counters).toEqual(final.recount);
    expect(final.disagree).toEqual([]);
    expect(final.counters).toMatchObject({ 'state:applied': ids.length - failed, 'state:failed': failed, offered: ids.length, 'reported:0': ids.length });
    const db = new Database(join(dataDir, 'ota.db'));
    try {
      expect(db.prepare('SELECT DISTINCT last_seq FROM devices').pluck().all()).toEqual([5]);
    } finally {
      db.close();
    }
  });
});
