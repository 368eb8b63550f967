import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { createOperatorTokenStore } from '../../server/auth/operator-token-store.js';
import { ADVISORY_LOCK } from '../../server/cluster/advisory-locks.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { client, inBatches, type Answer } from '../e2e/http-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeTrust, releaseBody, signWith, tempDir, type TrustFixture } from '../helpers/fixtures.js';
import { expectDistBuilt, startServerProcess, waitFor, type ServerProcess } from '../helpers/server-process.js';
import { recountCounters, storedCounters } from '../reports/recount.js';

/**
 * protocol §9 with real processes: two nodes (`npm start`'s dist/server/main.js),
 * each with its own port and data folder, on one fresh PostgreSQL database
 * and one trust folder (the same root and keys: the database is bound to one
 * trust root, so a node with another one would be refused).
 */

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
/** protocol §9: a change made through any node is served by every node within 2 seconds. */
/**
 * How long a test waits for a change to reach the other node. Protocol §9's bound is 2 s (the bench
 * measures it); here only that it arrives is asserted, with room for a busy shared machine.
 */
const PROPAGATION_MS = 15_000;
const HEALTH_INTERVAL_S = 1;
const LEADER_LINE = 'this node now runs the singleton jobs (leader)';
const LENIENT = { maxFailureBasisPoints: 10000, minTerminalReports: 1_000_000, reportTimeoutSeconds: 3600 };

interface Node extends ServerProcess {
  name: string;
  api: ReturnType<typeof client>;
}

interface Cluster {
  db: TestDatabase;
  trust: TrustFixture;
  tokens: Record<OperatorRole, string>;
  a: Node;
  b: Node;
}

const databases: TestDatabase[] = [];
afterEach(async () => {
  // server-process.ts SIGKILLs the nodes after each test; their sessions may still be ending, hence FORCE in drop().
  for (const d of databases.splice(0)) await d.drop();
});

async function startNode(name: string, db: TestDatabase, trust: TrustFixture, env: Record<string, string> = {}): Promise<Node> {
  const p = await startServerProcess({
    OTA_DATABASE_URL: db.url,
    OTA_DATA_DIR: tempDir(`ota-node-${name}-`),
    OTA_TRUST_DIR: trust.dir,
    OTA_DEMO: 'false',
    OTA_LOG_LEVEL: 'info',
    OTA_DATABASE_POOL_SIZE: '4',
    OTA_HEALTH_INTERVAL_SECONDS: String(HEALTH_INTERVAL_S),
    ...env,
  });
  return { ...p, name, api: client(p.url) };
}

/** A fresh migrated database, operator tokens made in it, and two nodes on it. */
async function startCluster(env: Record<string, string> = {}): Promise<Cluster> {
  expectDistBuilt();
  const db = await createTestDatabase('postgres', { poolSize: 2 });
  databases.push(db);
  const trust = makeTrust();
  const tokens = {} as Record<OperatorRole, string>;
  const store = createOperatorTokenStore(db.sql);
  for (const role of OPERATOR_ROLES) tokens[role] = (await store.create(role, `two-nodes-${role}`, toTimestamp(new Date()))).token;
  const [a, b] = await Promise.all([startNode('A', db, trust, env), startNode('B', db, trust, env)]);
  return { db, trust, tokens, a, b };
}

const ok = (res: Answer, status = 200): Answer => {
  expect(res.status, res.text).toBe(status);
  return res;
};

async function enroll(c: Cluster, node: Node, deviceId: string): Promise<string> {
  const res = ok(await node.api('POST', '/v1/devices', { token: c.tokens.enroller, json: { deviceId, model: 'redmi-1s', version: '1.4.1' } }), 201);
  return res.body.deviceToken as string;
}

async function publishRelease(c: Cluster, node: Node): Promise<void> {
  const signed = releaseBody({ issuedAt: toTimestamp(new Date(Date.now() - 60_000)) });
  ok(await node.api('POST', '/v1/releases', { token: c.tokens['release-manager'], json: signWith(signed, c.trust.releaseKeys) }), 201);
}

async function createRollout(c: Cluster, node: Node, body: Record<string, unknown>): Promise<string> {
  const res = ok(await node.api('POST', '/v1/rollouts', { token: c.tokens['release-manager'], json: { releaseId: RELEASE, ...body } }), 201);
  return res.body.id as string;
}

const act = (c: Cluster, node: Node, id: string, action: string): Promise<Answer> =>
  node.api('POST', `/v1/rollouts/${id}/${action}`, { token: c.tokens['release-manager'] });

const poll = (node: Node, deviceId: string, token: string): Promise<Answer> => node.api('GET', `/v1/devices/${deviceId}/update?version=1.4.1`, { token });

/** The release ids a node offers the device now. */
async function offered(node: Node, deviceId: string, token: string): Promise<string[]> {
  const res = ok(await poll(node, deviceId, token));
  return (res.body.updates as { release: { signed: { id: string } } }[]).map((u) => u.release.signed.id);
}

const report = (node: Node, deviceId: string, token: string, rolloutId: string, seq: number, state: string): Promise<Answer> =>
  node.api('POST', `/v1/devices/${deviceId}/reports`, { token, json: { seq, releaseId: RELEASE, rolloutId, state, at: toTimestamp(new Date()) } });

/** The whole audit log as one node serves it, page after page. */
async function auditOf(c: Cluster, node: Node): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor = '';
  for (;;) {
    const res = ok(await node.api('GET', `/v1/audit?limit=50&cursor=${cursor}`, { token: c.tokens.qa }));
    entries.push(...(res.body.entries as AuditEntry[]));
    if (res.body.nextCursor === null) return entries;
    cursor = res.body.nextCursor as string;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Status = Record<string, any>;
const status = async (c: Cluster, node: Node, id: string): Promise<Status> => ok(await node.api('GET', `/v1/rollouts/${id}/status`, { token: c.tokens.qa })).body as Status;

/** Status without the eligibility census, which each node computes on its own schedule (devices/census.ts). */
function withoutCensus(s: Status): Status {
  const { eligible: _e, eligibleComputedAt: _at, stages, ...rest } = s;
  return { ...rest, stages: (stages as Status[]).map(({ eligible: _se, ...stage }) => stage) };
}

/** Which node holds the leader's advisory lock: its session is named ota-leader:<pid> (cluster/leadership.ts). */
async function leaderPid(db: TestDatabase): Promise<number | undefined> {
  const rows = await db.sql.all<{ name: string }>(
    `SELECT a.application_name AS "name" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = ? AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [ADVISORY_LOCK.leader],
  );
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0] ? Number(rows[0].name.replace('ota-leader:', '')) : undefined;
}

const leaderLines = (node: Node): number => node.logs().filter((l) => l.msg === LEADER_LINE).length;

describe('two nodes on one PostgreSQL (protocol §9)', () => {
  it('serves one fleet: enroll on A, poll on B; a rollout started on A is offered by B and halted on B stops on A within 2 s; status and audit agree', async () => {
    const c = await startCluster();
    const { a, b } = c;

    // A device enrolled through A is known to B.
    const enrolled = await enroll(c, a, 'dev-000');
    expect(await offered(b, 'dev-000', enrolled)).toEqual([]);
    // It re-enrolls through A (its token replaced): B, which has it cached, refuses the old token within 2 s.
    const reenrolled = ok(await a.api('POST', '/v1/devices', { token: enrolled, json: { deviceId: 'dev-000', model: 'redmi-1s', version: '1.4.1' } }), 201);
    expect(reenrolled.body.reenrolled).toBe(true);
    const first = reenrolled.body.deviceToken as string;
    await waitFor(async () => ((await poll(b, 'dev-000', enrolled)).status === 401 ? true : undefined), PROPAGATION_MS, () => 'B still accepts the replaced device token');
    expect(await offered(b, 'dev-000', first)).toEqual([]);

    // Six devices, enrolled through either node; each polls the other.
    const devices = new Map<string, string>([['dev-000', first]]);
    for (let i = 1; i < 6; i++) devices.set(`dev-00${i}`, await enroll(c, i % 2 ? b : a, `dev-00${i}`));

    await publishRelease(c, a);
    const id = await createRollout(c, a, { id: 'two-nodes', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
    ok(await act(c, a, id, 'start'));
    await waitFor(async () => ((await offered(b, 'dev-000', first)).includes(RELEASE) ? true : undefined), PROPAGATION_MS, () => 'B never offered the rollout started on A');

    // Every device reports to both nodes: received to A, downloading to B, its outcome to either.
    const ids = [...devices.keys()];
    for (const [i, d] of ids.entries()) {
      const token = devices.get(d) as string;
      expect(await offered(i % 2 ? a : b, d, token)).toEqual([RELEASE]);
      ok(await report(a, d, token, id, 1, 'received'));
      ok(await report(b, d, token, id, 2, 'downloading'));
      ok(await report(i % 2 ? a : b, d, token, id, 3, i === 4 ? 'failed' : 'applied'));
    }

    // Halted on B: A stops offering.
    ok(await act(c, b, id, 'halt'));
    await waitFor(async () => ((await offered(a, 'dev-005', devices.get('dev-005') as string)).length === 0 ? true : undefined), PROPAGATION_MS, () => 'A still offers the rollout halted on B');

    // B's LISTEN session dies (a missed notification): the resume through A still reaches B (by the periodic read).
    const ended = await c.db.sql.value<number>('SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?', [`ota-change-feed:${b.pid}`]);
    expect(ended).toBe(1);
    ok(await a.api('POST', `/v1/rollouts/${id}/resume`, { token: c.tokens['release-manager'], json: { acknowledgeHalt: true, reason: 'two-node test' } }));
    await waitFor(async () => ((await offered(b, 'dev-000', first)).includes(RELEASE) ? true : undefined), PROPAGATION_MS, () => 'B never served the resume made on A');
    ok(await act(c, b, id, 'halt'));
    await waitFor(async () => ((await offered(a, 'dev-005', devices.get('dev-005') as string)).length === 0 ? true : undefined), PROPAGATION_MS, () => 'A still offers the rollout halted again on B');

    // Counters and status: the same whichever node is asked (offers are written behind, every 100 ms).
    const expected = { state: 'halted', offered: 6, reported: 6, counts: { applied: 5, failed: 1, received: 0, downloading: 0, timed_out: 0 } };
    const fromA = await waitFor(async () => {
      const s = await status(c, a, id);
      return s.offered === 6 ? s : undefined;
    }, PROPAGATION_MS, () => 'A never counted six offers');
    expect(fromA).toMatchObject(expected);
    expect(withoutCensus(await status(c, b, id))).toEqual(withoutCensus(fromA));

    // Audited actions through both nodes at once take turns in the one chain.
    const cohorts = Array.from({ length: 8 }, (_, i) => `cohort-${i}`);
    const created = await Promise.all(cohorts.map((name, i) => (i % 2 ? a : b).api('POST', '/v1/cohorts', { token: c.tokens['release-manager'], json: { name, members: ['dev-000'] } })));
    for (const res of created) ok(res, 201);

    // One audit log, one linear chain, served alike by both; each action once.
    const auditA = await auditOf(c, a);
    expect(await auditOf(c, b)).toEqual(auditA);
    expect(verifyAuditChain(auditA)).toEqual({ ok: true, checked: auditA.length });
    expect(auditA.map((e) => e.seq)).toEqual(auditA.map((_, i) => i + 1));
    expect(auditA.slice(0, 7).map((e) => `${e.action} ${e.subject}`)).toEqual(['device.reenroll dev-000', `release.publish ${RELEASE}`, `rollout.create ${id}`, `rollout.start ${id}`, `rollout.halt ${id}`, `rollout.resume ${id}`, `rollout.halt ${id}`]);
    expect(auditA.slice(7).map((e) => `${e.action} ${e.subject}`).sort()).toEqual(cohorts.map((name) => `cohort.create ${name}`));
  }, 180_000);

  it('auto-halts once when the reports crossing the threshold reach both nodes at the same time; a publish, an enrollment and a start sent to both at once happen once', async () => {
    const c = await startCluster();
    const { a, b } = c;
    // The same release published through both nodes at once: created once, the other answer says it exists.
    const release = signWith(releaseBody({ issuedAt: toTimestamp(new Date(Date.now() - 60_000)) }), c.trust.releaseKeys);
    const published = await Promise.all([a, b].map((node) => node.api('POST', '/v1/releases', { token: c.tokens['release-manager'], json: release })));
    expect(published.map((r) => r.status).sort(), published.map((r) => r.text).join('\n')).toEqual([200, 201]);
    // One device id enrolled through both at once: one enrollment, one conflict (a few times over).
    for (let i = 0; i < 5; i++) {
      const twice = await Promise.all([a, b].map((node) => node.api('POST', '/v1/devices', { token: c.tokens.enroller, json: { deviceId: `twice-${i}`, model: 'redmi-1s', version: '1.4.1' } })));
      expect(twice.map((r) => r.status).sort(), twice.map((r) => r.text).join('\n')).toEqual([201, 409]);
    }
    const id = await createRollout(c, a, {
      id: 'halts-once',
      stages: [{ cohort: 'all', basisPoints: 10000 }],
      failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 8, reportTimeoutSeconds: 3600 },
    });
    // Started through both at once: one start; the other finds it running (the action's lock, then the state machine).
    const starts = await Promise.all([a, b].map((node) => act(c, node, id, 'start')));
    expect(starts.map((r) => r.status).sort(), starts.map((r) => r.text).join('\n')).toEqual([200, 409]);
    const devices = await inBatches(Array.from({ length: 16 }, (_, i) => `halt-${String(i).padStart(2, '0')}`), 4, async (d) => [d, await enroll(c, a, d)] as const);
    await waitFor(async () => ((await offered(b, devices[0]![0], devices[0]![1])).includes(RELEASE) ? true : undefined), PROPAGATION_MS, () => 'B never served the rollout');
    // Every device is offered the release (through either node) before it reports, as a real one is:
    // a report to a halted rollout counts only from a device it had offered its release to.
    for (const [i, [d, token]] of devices.entries()) expect(await offered(i % 2 ? a : b, d, token)).toEqual([RELEASE]);
    await waitFor(async () => ((await status(c, a, id)).offered === devices.length ? true : undefined), PROPAGATION_MS, () => 'the offers were not written');

    // Seven devices applied: below minTerminalReports, nothing to judge yet.
    for (const [d, token] of devices.slice(0, 7)) ok(await report(a, d, token, id, 1, 'applied'));
    expect((await status(c, a, id)).state).toBe('running');
    // Nine failures at once, split over both nodes: each node's check after its group sees the threshold crossed.
    const answers = await Promise.all(devices.slice(7).map(([d, token], i) => report(i % 2 ? a : b, d, token, id, 1, 'failed')));
    for (const res of answers) ok(res);

    for (const node of [a, b]) {
      await waitFor(async () => ((await status(c, node, id)).state === 'halted' ? true : undefined), PROPAGATION_MS, () => `${node.name} does not show the halt`);
    }
    // The leader's health pass comes after (one interval) and must not halt it again.
    await new Promise((r) => setTimeout(r, 2 * HEALTH_INTERVAL_S * 1000));
    const audit = await auditOf(c, b);
    expect(verifyAuditChain(audit).ok).toBe(true);
    for (const action of ['release.publish', 'rollout.start']) expect(audit.filter((e) => e.action === action), action).toHaveLength(1);
    const halts = audit.filter((e) => e.action === 'rollout.halt');
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatchObject({ actor: 'system:auto-halt', subject: id });
    expect(await status(c, a, id)).toMatchObject({ state: 'halted', counts: { applied: 7, failed: 9 }, failure: { terminal: 16, failures: 9 } });
  }, 180_000);

  it('loses no acknowledged report when node A is SIGKILLed under load, and B keeps serving', async () => {
    const c = await startCluster({ OTA_LOG_LEVEL: 'warn' });
    const { a, b } = c;
    await publishRelease(c, a);
    const id = await createRollout(c, a, { id: 'kill-a', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: LENIENT });
    ok(await act(c, a, id, 'start'));
    const DEVICES = 60;
    const devices = await inBatches(Array.from({ length: DEVICES }, (_, i) => `load-${String(i).padStart(3, '0')}`), 6, async (d) => {
      const i = Number(d.slice(5));
      return [d, await enroll(c, i % 2 ? a : b, d)] as const;
    });
    await waitFor(async () => ((await offered(b, devices[0]![0], devices[0]![1])).includes(RELEASE) ? true : undefined), PROPAGATION_MS, () => 'B never served the rollout');

    const STATES = ['received', 'downloading', 'downloaded', 'installing'];
    const total = DEVICES * 5;
    const acked = new Set<string>();
    const refused: string[] = [];
    let killedAt = 0;
    let ackedByBAfterKill = 0;
    let ackedByA = 0;
    // Every device sends its five reports in order, alternating nodes; a report whose node is gone is
    // sent again to the other one (what a load balancer does), byte for byte, so it is a duplicate if A kept it.
    await Promise.all(devices.map(async ([d, token], i) => {
      for (let seq = 1; seq <= 5; seq++) {
        const json = { seq, releaseId: RELEASE, rolloutId: id, state: seq < 5 ? STATES[seq - 1] : i % 10 === 0 ? 'failed' : 'applied', at: '2026-12-01T12:00:00Z' };
        let res: Answer | undefined;
        for (const node of (i + seq) % 2 ? [a, b] : [b, a]) {
          try {
            res = await node.api('POST', `/v1/devices/${d}/reports`, { token, json });
          } catch {
            continue; // connection refused or reset: A is gone
          }
          if (node === b && killedAt) ackedByBAfterKill++;
          if (node === a && res.status === 200) ackedByA++;
          break;
        }
        if (!res || res.status < 200 || res.status > 299) {
          refused.push(`${d}:${seq} ${res ? `${res.status} ${res.text}` : 'no node answered'}`);
          return;
        }
        acked.add(`${d}:${seq}`);
        if (!killedAt && acked.size >= total / 4) {
          killedAt = Date.now();
          // A few ms later, so the kill lands at an arbitrary point of A's work.
          setTimeout(() => a.proc.kill('SIGKILL'), 5);
        }
      }
    }));
    await a.exited();
    expect(a.proc.signalCode).toBe('SIGKILL');
    expect(refused).toEqual([]);
    expect(ackedByA).toBeGreaterThan(0);
    expect(ackedByBAfterKill).toBeGreaterThan(0);

    // Every acknowledged (device, seq) is in PostgreSQL; here that is every report, re-sent or not.
    const stored = new Set((await c.db.sql.all<{ device_id: string; seq: number }>('SELECT device_id, seq FROM reports WHERE rollout_id = ?', [id])).map((r) => `${r.device_id}:${r.seq}`));
    expect([...acked].filter((k) => !stored.has(k))).toEqual([]);
    expect(stored.size).toBe(total);
    expect(await storedCounters(c.db.sql, id)).toEqual(await recountCounters(c.db.sql, id));

    // B answers polls and reports after A died.
    for (const [d, token] of devices.slice(0, 10)) expect((await poll(b, d, token)).status).toBe(200);
    const failed = devices.filter((_, i) => i % 10 === 0).length;
    expect(await status(c, b, id)).toMatchObject({ state: 'running', reported: DEVICES, counts: { applied: DEVICES - failed, failed } });
  }, 180_000);

  it('hands the singleton jobs to the other node when the leader is SIGKILLed, and they run once, also once the dead node is back', async () => {
    const c = await startCluster();
    const byPid = new Map([c.a, c.b].map((n) => [n.pid, n]));
    const leader = await waitFor(async () => byPid.get((await leaderPid(c.db)) ?? -1), 5000, () => 'no node took the leader lock');
    const survivor = leader === c.a ? c.b : c.a;
    await waitFor(() => (leaderLines(leader) === 1 ? true : undefined), PROPAGATION_MS, () => leader.output());
    expect(leaderLines(survivor)).toBe(0);

    await publishRelease(c, survivor);
    /** Long enough for the kill to come first: checked below by the rollout's state, not by the clock. */
    const DWELL_S = 3;
    const TIMEOUT_S = 3;
    /** Long enough for the killed node to be back (as a follower) before this stage's dwell passes. */
    const SECOND_DWELL_S = 6;
    const id = await createRollout(c, survivor, {
      id: 'takeover',
      stages: [
        { cohort: 'all', basisPoints: 10000, minDwellSeconds: DWELL_S, autoAdvance: true },
        { cohort: 'all', basisPoints: 10000, minDwellSeconds: SECOND_DWELL_S, autoAdvance: true },
        { cohort: 'all', basisPoints: 10000 },
      ],
      failurePolicy: { ...LENIENT, reportTimeoutSeconds: TIMEOUT_S },
    });
    const token = await enroll(c, survivor, 'silent-1');
    ok(await act(c, survivor, id, 'start'));
    // A device that starts downloading and then falls silent: it times out TIMEOUT_S later.
    ok(await report(survivor, 'silent-1', token, id, 1, 'downloading'));
    leader.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await leader.exited();
    // The leader died before either job fell due: both are the survivor's to run.
    expect(await status(c, survivor, id), 'the leader was killed before the jobs fell due').toMatchObject({ stage: 0, counts: { timed_out: 0 } });

    // The survivor takes the lock after the kill (its log line's time; protocol §9's two health
    // intervals are measured by the bench, not asserted on a busy machine)...
    const bound = 2 * HEALTH_INTERVAL_S * 1000;
    const tookOver = await waitFor(() => survivor.logs().find((l) => l.msg === LEADER_LINE)?.time, PROPAGATION_MS, () => survivor.output());
    expect(tookOver).toBeGreaterThanOrEqual(killedAt);
    // ...and runs the jobs, which both fall due after the kill.
    await waitFor(async () => ((await auditOf(c, survivor)).some((e) => e.action === 'rollout.advance') ? true : undefined), DWELL_S * 1000 + PROPAGATION_MS, () => 'the survivor never auto-advanced');
    await waitFor(async () => ((await status(c, survivor, id)).counts.timed_out === 1 ? true : undefined), TIMEOUT_S * 1000 + PROPAGATION_MS, () => 'the silent device never timed out');
    expect(leaderLines(survivor)).toBe(1);
    expect(await leaderPid(c.db)).toBe(survivor.pid);

    // The killed node comes back: a follower now, so the next auto-advance, due while both nodes run, runs once.
    const back = await startNode(`${leader.name}2`, c.db, c.trust);
    // Normally back well before the second dwell passes; on a starved machine it may come back after
    // the advance, and the checks below still hold (two advances in all), only with less overlap.
    if ((await status(c, back, id)).stage !== 1) console.info('two nodes: the restarted node came back after the second advance (a busy machine)');
    await waitFor(async () => ((await status(c, back, id)).stage === 2 ? true : undefined), SECOND_DWELL_S * 1000 + PROPAGATION_MS, () => 'the second stage never advanced');
    // Once: a further pass changes nothing.
    await new Promise((r) => setTimeout(r, bound));
    const audit = await auditOf(c, back);
    expect(verifyAuditChain(audit).ok).toBe(true);
    expect(audit.filter((e) => e.action === 'rollout.advance').map((e) => ({ actor: e.actor, subject: e.subject, details: e.details }))).toMatchObject([
      { actor: 'system:auto-advance', subject: id, details: { from: { state: 'running', stage: 0 }, to: { state: 'running', stage: 1 } } },
      { actor: 'system:auto-advance', subject: id, details: { from: { state: 'running', stage: 1 }, to: { state: 'running', stage: 2 } } },
    ]);
    expect(leaderLines(back)).toBe(0);
    expect(await leaderPid(c.db)).toBe(survivor.pid);
    expect(await status(c, back, id)).toMatchObject({ state: 'running', stage: 2, counts: { timed_out: 1, downloading: 0 }, failure: { terminal: 1, failures: 1 } });
    // Reported, not asserted: how the handover compared with protocol §9's two health intervals on this run.
    console.info(`leader takeover: the survivor led ${tookOver - killedAt} ms after the kill (protocol bound ${bound} ms)`);
  }, 180_000);
});
