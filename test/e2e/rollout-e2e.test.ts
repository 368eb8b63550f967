import { createHash } from 'node:crypto';
import semver from 'semver';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditChain, type AuditEntry } from '../../server/audit/audit-chain.js';
import { loadConfig } from '../../server/config.js';
import { verifyThreshold } from '../../server/protocol/crypto/envelope.js';
import { bucketOf } from '../../server/protocol/bucket.js';
import { startServer, type Running } from '../../server/serve.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { apiContract } from '../helpers/api-contract.js';
import { makeTrust, releaseBody, signWith, tempDir, testDatabaseConfig } from '../helpers/fixtures.js';
import { recountCounters, storedCounters } from '../reports/recount.js';
import { client, inBatches, type Answer } from './http-client.js';

const RELEASE = 'redmi-1s-1.4.3-e2e';
const APPLIES_TO = '>=1.4.0 <1.4.3';
const STAGES = [
  { cohort: 'qa', basisPoints: 10000 },
  { cohort: 'all', basisPoints: 1000 },
  { cohort: 'all', basisPoints: 10000 },
];
const POLICY = { maxFailureBasisPoints: 2000, minTerminalReports: 20, reportTimeoutSeconds: 3600 };
const SETTING = 'cloud.messaging.enabled';

interface Device {
  id: string;
  model: string;
  version: string;
  token: string;
}

interface Statement {
  type: string;
  rolloutId: string;
  releaseId: string;
  manifestSha256: string;
  stage: number;
  cohort: string;
  basisPoints: number;
  salt: string;
  version: number;
  issuedAt: string;
  expires: string;
}

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** A fleet of 300: mostly redmi-1s on versions inside appliesTo, some other models, some already upgraded or too old. */
function fleetPlan(): Omit<Device, 'token'>[] {
  return Array.from({ length: 300 }, (_, i) => ({
    id: `e2e-${String(i).padStart(4, '0')}`,
    model: i % 7 === 3 ? 'redmi-2' : 'redmi-1s',
    version: i % 11 === 5 ? '1.4.3' : i % 13 === 7 ? '1.3.9' : i % 2 ? '1.4.1' : '1.4.0',
  }));
}

describe('end to end on real HTTP and a real database — SQLite, or PostgreSQL with OTA_TEST_ENGINE=postgres (issues 3 and 10)', () => {
  it('publish → cohort → staged rollout; exactly the eligible devices get it; a failing rollout halts itself and says why', { timeout: 120_000 }, async () => {
    const trust = makeTrust();
    const dataDir = tempDir('ota-e2e-');
    running = await startServer(loadConfig({}, { dataDir, trustDir: trust.dir, port: 0, logLevel: 'silent', demo: false, ...(await testDatabaseConfig()) }), () => undefined);
    const { ctx, url } = running;
    expect(ctx.sql.engine).toBe(process.env.OTA_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite');
    // Every answer of the run is checked against the response schemas of the OpenAPI document (protocol §7, §8).
    const contract = apiContract();
    const raw = client(url);
    const api = async (method: string, path: string, opts: Parameters<typeof raw>[2] = {}): Promise<Answer> => {
      const a = await raw(method, path, opts);
      contract.check(method, path, a.status, a.headers['content-type'], a.body);
      return a;
    };
    const at = toTimestamp(new Date());
    const token = async (role: 'release-manager' | 'qa' | 'viewer' | 'enroller') => (await ctx.operatorTokens.create(role, `e2e-${role}`, at)).token;
    const rm = await token('release-manager');
    const qa = await token('qa');
    const viewer = await token('viewer');
    const enroller = await token('enroller');
    const ok = (a: Answer, status = 200) => expect(a.status, a.text).toBe(status);

    // Publish: the artifact first, then the release that pins it.
    const image = Buffer.alloc(64 * 1024, 'redmi-1s 1.4.3 e2e\n');
    const uploaded = await api('PUT', '/v1/artifacts', { token: rm, raw: image });
    ok(uploaded, 201);
    expect(uploaded.body).toEqual({ sha256: createHash('sha256').update(image).digest('hex'), size: image.length });
    const release = signWith(
      releaseBody({ id: RELEASE, appliesTo: APPLIES_TO, version: '1.4.3', artifact: { sha256: uploaded.body.sha256, size: image.length }, issuedAt: at }),
      trust.releaseKeys,
    );
    const published = await api('POST', '/v1/releases', { token: rm, json: release });
    ok(published, 201);
    const manifestSha256 = published.body.manifestSha256 as string;

    // Enroll the fleet; the first 25 (whatever their model or version) are the QA bench.
    const devices: Device[] = [];
    for (const d of fleetPlan()) {
      const res = await api('POST', '/v1/devices', { token: enroller, json: { deviceId: d.id, model: d.model, version: d.version } });
      ok(res, 201);
      devices.push({ ...d, token: res.body.deviceToken as string });
    }
    const qaMembers = new Set(devices.slice(0, 25).map((d) => d.id));
    ok(await api('POST', '/v1/cohorts', { token: rm, json: { name: 'qa', description: 'QA bench', members: [...qaMembers] } }), 201);
    expect((await api('GET', '/v1/cohorts/qa', { token: viewer })).body).toMatchObject({ name: 'qa', memberCount: 25 });

    const created = await api('POST', '/v1/rollouts', { token: rm, json: { id: 'e2e-rollout', releaseId: RELEASE, stages: STAGES, failurePolicy: POLICY } });
    ok(created, 201);
    expect(created.body).toMatchObject({ id: 'e2e-rollout', state: 'draft', currentStage: 0 });
    const salt = created.body.salt as string;
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    ok(await api('POST', '/v1/rollouts/e2e-rollout/start', { token: rm }));

    // The expectation, computed independently: model, appliesTo, then the earliest reached stage whose cohort and bucket admit the device.
    const earliestStage = (d: Device, reached: number): number => {
      if (d.model !== 'redmi-1s' || !semver.satisfies(d.version, APPLIES_TO)) return -1;
      const b = bucketOf(salt, d.id);
      for (let j = 0; j <= reached; j++) {
        const s = STAGES[j] as (typeof STAGES)[number];
        const member = s.cohort === 'all' || qaMembers.has(d.id);
        if (member && b < s.basisPoints) return j;
      }
      return -1;
    };

    const checked = new Map<string, boolean>();
    const verified = (envelope: Parameters<typeof verifyThreshold>[0], role: 'online' | 'release'): boolean => {
      const key = `${role}:${JSON.stringify(envelope)}`;
      let result = checked.get(key);
      if (result === undefined) checked.set(key, (result = verifyThreshold(envelope, trust.root.keys, trust.root.roles[role]).met));
      return result;
    };
    const pollAll = () => inBatches(devices, 50, (d) => api('GET', `/v1/devices/${d.id}/update?version=${d.version}`, { token: d.token }));
    const firstOffer = new Map<string, number>();
    let offeredBefore = new Set<string>();

    for (let stage = 0; stage < STAGES.length; stage++) {
      if (stage > 0) ok(await api('POST', '/v1/rollouts/e2e-rollout/advance', { token: rm }));
      const answers = await pollAll();
      const offered = new Set<string>();
      answers.forEach((a, i) => {
        const d = devices[i] as Device;
        ok(a);
        expect(a.headers.etag).toMatch(/^"/);
        const expected = earliestStage(d, stage);
        const updates = a.body.updates as { release: typeof release; rollout: { signed: Statement; signatures: { keyid: string; sig: string }[] } }[];
        expect(updates.length, `${d.id} (${d.model} ${d.version}) at stage ${stage}`).toBe(expected >= 0 ? 1 : 0);
        if (expected < 0) return;
        offered.add(d.id);
        if (!firstOffer.has(d.id)) firstOffer.set(d.id, expected);
        const [u] = updates as [(typeof updates)[number]];
        expect(u.release).toEqual(release);
        const st = u.rollout.signed;
        expect(st).toMatchObject({ type: 'rollout', rolloutId: 'e2e-rollout', releaseId: RELEASE, manifestSha256, stage: expected, salt, ...STAGES[expected] });
        // protocol §6: the device's own bucket test against the statement it is sent passes...
        expect(bucketOf(st.salt, d.id)).toBeLessThan(st.basisPoints);
        // ...and the statement is signed by the online role of the root (each distinct envelope checked once).
        expect(verified(u.rollout, 'online')).toBe(true);
        expect(verified(u.release, 'release')).toBe(true);
      });
      // Monotone: raising the percentage never takes an offer away.
      for (const id of offeredBefore) expect(offered.has(id), `${id} lost its offer at stage ${stage}`).toBe(true);
      expect(offered.size).toBeGreaterThan(offeredBefore.size);
      offeredBefore = offered;
    }
    const eligible = devices.filter((d) => earliestStage(d, 2) >= 0);
    expect(offeredBefore.size).toBe(eligible.length);
    // The fleet really exercises every rule.
    expect(devices.some((d) => qaMembers.has(d.id) && earliestStage(d, 2) < 0)).toBe(true);
    expect(eligible.length).toBeLessThan(devices.length);

    // Status before any report: census of eligible devices per stage, offers per stage.
    await ctx.activity.flushAll();
    await ctx.census.run(false);
    let status = (await api('GET', '/v1/rollouts/e2e-rollout/status', { token: qa })).body;
    const perStage = [0, 1, 2].map((j) => eligible.filter((d) => earliestStage(d, 2) === j).length);
    expect(status).toMatchObject({ state: 'running', stage: 2, eligible: eligible.length, offered: eligible.length, reported: 0 });
    expect(status.stages.map((s: { eligible: number }) => s.eligible)).toEqual(perStage);
    expect(status.stages.map((s: { offered: number }) => s.offered)).toEqual(perStage);
    expect(perStage.every((n) => n > 0)).toBe(true);

    // Reports. Sorted eligible devices, split into roles.
    const ids = eligible.map((d) => d.id).sort();
    const byId = new Map(devices.map((d) => [d.id, d]));
    const take = (n: number) => ids.splice(0, n);
    const applied = take(30);
    const failed = take(10);
    const rejected = take(2);
    const stuck = take(5);
    const declined = take(3);
    const rolledBack = applied.slice(0, 3);
    const silent = ids;
    const settingOf = (i: number) => (i < 25 ? { value: false, source: 'default' } : i < 29 ? { value: true, source: 'user' } : { value: true, source: 'default' });
    const rep = (seq: number, state: string, extra: object = {}) => ({ seq, releaseId: RELEASE, rolloutId: 'e2e-rollout', state, at: toTimestamp(new Date()), ...extra });
    const progress = (last: object) => [rep(1, 'received'), rep(2, 'downloading'), rep(3, 'downloaded'), rep(4, 'installing'), last];
    const send = async (id: string, body: unknown) => {
      const d = byId.get(id) as Device;
      const res = await api('POST', `/v1/devices/${id}/reports`, { token: d.token, json: body });
      ok(res);
      return res;
    };
    const state = async () => (await api('GET', '/v1/rollouts/e2e-rollout', { token: viewer })).body.state as string;

    await inBatches(applied.map((id, i) => [id, i] as const), 20, ([id, i]) => send(id, progress(rep(5, 'applied', { version: '1.4.3', settings: { [SETTING]: settingOf(i) } }))));
    await inBatches(stuck, 5, (id) => send(id, [rep(1, 'received'), rep(2, 'downloading')]));
    await inBatches(declined, 5, (id) => send(id, rep(1, 'declined')));
    expect(await state()).toBe('running');

    // Failures one by one: 7/37 = 1891bp stays under 2000bp; the 8th (8/38 = 2105bp) halts it.
    for (const [n, id] of failed.entries()) {
      await send(id, progress(rep(5, 'failed', { error: { code: 'install_failed', message: 'dm-verity mismatch' } })));
      expect(await state(), `after ${n + 1} failures`).toBe(n + 1 < 8 ? 'running' : 'halted');
    }
    // Devices keep telling what happened after the halt; it is all counted.
    await inBatches(rolledBack, 3, (id) => send(id, rep(6, 'rolled_back', { error: { code: 'boot_loop', message: 'reverted' } })));
    await inBatches(rejected, 2, (id) => send(id, rep(1, 'rejected', { error: { code: 'statement_expired', message: 'expired' } })));

    // Halted: nobody is offered anything any more.
    for (const a of await pollAll()) {
      ok(a);
      expect(a.body.updates).toEqual([]);
    }

    // The audit log says why, with the figures, in a chain that verifies.
    const entries: AuditEntry[] = [];
    for (let cursor: string | null = '0'; cursor !== null; ) {
      const page = await api('GET', `/v1/audit?limit=3&cursor=${cursor}`, { token: viewer });
      ok(page);
      entries.push(...(page.body.entries as AuditEntry[]));
      cursor = page.body.nextCursor as string | null;
    }
    expect(verifyAuditChain(entries)).toEqual({ ok: true, checked: entries.length });
    const halts = entries.filter((e) => e.action === 'rollout.halt');
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatchObject({
      actor: 'system:auto-halt',
      subject: 'e2e-rollout',
      details: {
        from: { state: 'running', stage: 2 },
        to: { state: 'halted', stage: 2 },
        figures: { terminal: 38, failures: 8, rateBasisPoints: 2105, byState: { applied: 30, failed: 8 } },
        failurePolicy: POLICY,
      },
    });
    expect(String((halts[0] as AuditEntry).details.reason)).toContain('failure rate 21.05% above the 20.00% threshold');

    // Status counts are what was sent (latest state per device).
    await ctx.activity.flushAll();
    status = (await api('GET', '/v1/rollouts/e2e-rollout/status', { token: qa })).body;
    const reportedIds = new Set([...applied, ...failed, ...rejected, ...stuck, ...declined]);
    expect(status.counts).toEqual({
      received: 0,
      downloading: stuck.length,
      downloaded: 0,
      installing: 0,
      applied: applied.length - rolledBack.length,
      failed: failed.length,
      rolled_back: rolledBack.length,
      rejected: rejected.length,
      declined: declined.length,
      timed_out: 0,
      cancelled: 0,
    });
    const terminal = applied.length + failed.length + rejected.length;
    const failures = failed.length + rolledBack.length + rejected.length;
    expect(status.failure).toEqual({
      terminal,
      failures,
      rateBasisPoints: Math.floor((failures * 10000) / terminal),
      maxFailureBasisPoints: POLICY.maxFailureBasisPoints,
      minTerminalReports: POLICY.minTerminalReports,
      sinceOverruled: null,
    });
    expect(status).toMatchObject({ state: 'halted', offered: eligible.length, reported: reportedIds.size });

    // Settings compliance: devices per (value, source); a consent setting on by default is flagged.
    const compliance = [...(status.settings[SETTING] as { value: unknown; source: string; devices: number }[])].sort((a, b) => b.devices - a.devices);
    expect(compliance).toEqual([
      { value: false, source: 'default', devices: 25 },
      { value: true, source: 'user', devices: 4 },
      { value: true, source: 'default', devices: 1 },
    ]);
    expect(status.compliance).toEqual({ consentOnByDefault: 1 });

    // Per stage: offered, reported, silent; and who has not been reached, with last-seen.
    const stageOf = (id: string) => firstOffer.get(id) as number;
    for (const [j, s] of (status.stages as { offered: number; reported: number; silent: number }[]).entries()) {
      const reportedHere = [...reportedIds].filter((id) => stageOf(id) === j).length;
      expect(s).toMatchObject({ offered: perStage[j], reported: reportedHere, silent: (perStage[j] as number) - reportedHere });
    }
    const silentSample = status.silentDevices as { deviceId: string; lastSeen: string | null; stage: number }[];
    expect(silentSample.map((d) => d.deviceId)).toEqual([...silent].sort().slice(0, silentSample.length));
    expect(silentSample.length).toBe(Math.min(20, silent.length));
    for (const d of silentSample) {
      expect(d.lastSeen).not.toBeNull();
      expect(d.stage).toBe(stageOf(d.deviceId));
    }

    // The paged device list: every failed device, in id order, a few per page.
    const pageThrough = async (filter: string) => {
      const seen: { deviceId: string; state: string; lastSeen: string | null }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await api('GET', `/v1/rollouts/e2e-rollout/devices?${filter}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: viewer });
        ok(res);
        expect(res.body.devices.length).toBeLessThanOrEqual(3);
        seen.push(...res.body.devices);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 200);
      return { seen, pages };
    };
    const failedPages = await pageThrough('state=failed');
    expect(failedPages.seen.map((d) => d.deviceId)).toEqual([...failed].sort());
    expect(failedPages.seen.every((d) => d.state === 'failed' && d.lastSeen !== null)).toBe(true);
    expect(failedPages.pages).toBeGreaterThanOrEqual(4);
    expect((await pageThrough('state=silent')).seen.map((d) => d.deviceId)).toEqual([...silent].sort());
    expect((await pageThrough('state=rolled_back')).seen.map((d) => d.deviceId)).toEqual([...rolledBack].sort());
    expect((await api('GET', '/v1/rollouts/e2e-rollout/devices?state=exploded', { token: viewer })).status).toBe(400);

    // The incremental counters equal a recount from the tables.
    expect(await storedCounters(ctx.sql, 'e2e-rollout')).toEqual(await recountCounters(ctx.sql, 'e2e-rollout'));

    // The rest of the read API, each answer checked against its schema like every one above.
    const device = devices.find((d) => failed.includes(d.id)) as Device;
    const other = devices.find((d) => d.id !== device.id) as Device;
    ok(await api('GET', '/healthz'));
    expect((await api('GET', '/v1/whoami', { token: viewer })).body).toEqual({ kind: 'operator', name: 'e2e-viewer', role: 'viewer', tokenId: expect.any(Number) });
    expect((await api('GET', '/v1/whoami', { token: device.token })).body).toEqual({ kind: 'device', deviceId: device.id });
    ok(await api('GET', '/v1/releases', { token: viewer }));
    ok(await api('GET', `/v1/releases/${RELEASE}`, { token: viewer }));
    ok(await api('GET', '/v1/artifacts', { token: viewer }));
    ok(await api('GET', '/v1/cohorts', { token: viewer }));
    ok(await api('PUT', '/v1/cohorts/qa/members', { token: rm, json: { members: [...qaMembers] } }));
    ok(await api('POST', '/v1/rollouts/e2e-rollout/clone', { token: rm, json: { id: 'e2e-rollout-again' } }), 201);
    ok(await api('POST', '/v1/releases', { token: rm, json: release }));
    ok(await api('GET', '/v1/rollouts', { token: viewer }));
    ok(await api('GET', '/v1/rollouts/e2e-rollout/timeline', { token: viewer }));
    ok(await api('GET', '/v1/devices?limit=5', { token: viewer }));
    const detail = await api('GET', `/v1/devices/${device.id}`, { token: viewer });
    expect(detail.body.rollouts[0].reports.length).toBeGreaterThan(0);
    const size = Number(((await raw('GET', '/v1/log/checkpoint')).text.split('\n')[1]));
    expect(size).toBeGreaterThan(3);
    expect((await api('GET', `/v1/log/entries?start=0&end=${size}`)).body.entries).toHaveLength(size);
    ok(await api('GET', `/v1/log/proof/inclusion?index=1&size=${size}`));
    ok(await api('GET', `/v1/log/proof/consistency?from=2&to=${size}`));
    const admin = (await ctx.operatorTokens.create('admin', 'e2e-admin', at)).token;
    const minted = await api('POST', '/v1/tokens', { token: admin, json: { role: 'viewer', name: 'e2e-minted' } });
    ok(minted, 201);
    ok(await api('GET', '/v1/tokens', { token: admin }));
    ok(await api('DELETE', `/v1/tokens/${minted.body.id as number}`, { token: admin }));
    // Errors are the §7 body, whatever the route.
    expect((await api('GET', '/v1/rollouts/no-such-rollout', { token: viewer })).status).toBe(404);
    expect((await api('GET', '/v1/audit', { token: 'ota_not-a-token' })).status).toBe(401);
    expect((await api('GET', `/v1/devices/${device.id}/update`, { token: other.token })).status).toBe(403);
    expect((await api('POST', `/v1/devices/${device.id}/reports`, { token: device.token, json: { seq: 'x' } })).status).toBe(400);
    // Every body the brief of issue 16 names was seen and checked on this run.
    const validated = [...contract.seen].map((k) => k.replace(/ \d+$/, '')).join('\n');
    for (const route of [
      'put /v1/artifacts', 'post /v1/releases', 'post /v1/devices', 'post /v1/cohorts', 'get /v1/cohorts/{name}', 'post /v1/rollouts', 'post /v1/rollouts/{id}/start',
      'post /v1/rollouts/{id}/advance', 'get /v1/devices/{deviceId}/update', 'post /v1/devices/{deviceId}/reports', 'get /v1/rollouts/{id}/status', 'get /v1/rollouts/{id}/devices',
      'get /v1/rollouts/{id}', 'get /v1/audit', 'get /v1/log/entries', 'get /v1/log/proof/inclusion', 'get /v1/log/proof/consistency', 'get /healthz', 'get /v1/whoami',
      'get /v1/tokens', 'post /v1/tokens', 'delete /v1/tokens/{id}', 'get /v1/devices', 'get /v1/devices/{deviceId}', 'get /v1/rollouts/{id}/timeline',
      'put /v1/cohorts/{name}/members', 'post /v1/rollouts/{id}/clone', 'get /v1/releases', 'get /v1/releases/{id}', 'get /v1/artifacts', 'get /v1/cohorts', 'get /v1/rollouts',
    ]) expect(validated.split('\n'), route).toContain(route);
  });
});
