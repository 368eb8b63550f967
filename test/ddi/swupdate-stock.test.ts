import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { createOperatorTokenStore } from '../../server/auth/operator-token-store.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { makeTrust, releaseBody, signWith, testEngine } from '../helpers/fixtures.js';
import type { TestDatabase } from '../helpers/database.js';
import { expectDistBuilt, startServerProcess, waitFor, type ServerProcess } from '../helpers/server-process.js';
import { makeSigner, makeSwu } from './swu.js';

/**
 * Issue 19 acceptance, with Debian's stock SWUpdate (suricatta, hawkBit
 * mode) against the real server process: gateway-token registration,
 * configData, offer, HEAD + GET, install by the rawfile handler, success
 * confirmed after a restart with -c 2; a .swu signed by another certificate
 * fails with SWUpdate's ERROR line, the rollout halts itself, a fresh
 * controller is offered nothing and one with an open action is cancelled.
 * SWUpdate keeps fixed sockets in /tmp, so each instance runs in its own
 * mount namespace with a private /tmp (unshare -m; the suite runs as root).
 */

const MODEL = 'acc-board';
const HW = 'ota-test:1.0';
const ROLLOUT = 'acc-stock';
const RELEASE = 'acc-board-2.0.0';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
/** Ends a SWUpdate instance and everything it started (its own process group). */
const stop = (c: ChildProcess): void => {
  if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};
afterAll(async () => {
  for (const c of children.splice(0)) stop(c);
  for (const f of cleanups.splice(0).reverse()) await f();
});

interface Swupdate {
  proc: ChildProcess;
  output(): string;
  exited: Promise<void>;
  running(): boolean;
}

/** `probe`, but a SWUpdate that exited fails at once with its output. */
const unlessExited = <T>(s: Swupdate, probe: () => Promise<T | undefined> | T | undefined) => async (): Promise<T | undefined> => {
  if (!s.running()) throw new Error(`swupdate exited:\n${s.output()}`);
  return probe();
};

/** Stock swupdate in suricatta mode, in its own mount namespace with a private /tmp. */
function runSwupdate(work: string, opts: { cert: string; id: string; url: string; gatewayToken: string; confirm?: boolean }): Swupdate {
  const cfg = join(work, `${opts.id}.cfg`);
  // identify entries become the configData upload (attributes: model, installed version, and a lab flag cohort rules see).
  writeFileSync(cfg, `globals : {\n  verbose = true;\n  loglevel = 5;\n};\nidentify : (\n  { name = "model"; value = "${MODEL}"; },\n  { name = "version"; value = "1.0.0"; },\n  { name = "lab"; value = "yes"; }\n);\n`);
  const suricatta = ['-t', 'DEFAULT', '-u', opts.url, '-i', opts.id, '-g', opts.gatewayToken, '-p', '1', ...(opts.confirm ? ['-c', '2'] : [])].join(' ');
  const args = ['-v', '-k', opts.cert, '-H', HW, '-f', cfg, '-u', suricatta];
  const proc = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /tmp && exec swupdate "$@"', 'sh', ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  return { proc, output: () => out, exited, running: () => proc.exitCode === null && proc.signalCode === null };
}

async function stopSwupdate(s: Swupdate): Promise<void> {
  stop(s.proc);
  await s.exited;
}

interface Api {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

const haveSwupdate = spawnSync('sh', ['-c', 'command -v swupdate && command -v unshare && command -v openssl']).status === 0;

describe('stock SWUpdate against the DDI gateway (issue 19)', () => {
  it('is installed (test/global-setup.ts and .ci/run install it from Debian)', () => {
    expect(haveSwupdate, 'swupdate, unshare and openssl must be on PATH').toBe(true);
  });

  it('registers, installs, confirms success; a foreign signature fails, the rollout halts, cancelAction follows', async () => {
    expectDistBuilt();
    // Outside /tmp: each SWUpdate sees a private, empty /tmp.
    mkdirSync('/var/tmp', { recursive: true });
    const work = mkdtempSync('/var/tmp/ota-swupdate-');
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const trust = makeTrust();
    const trustDir = join(work, 'trust');
    spawnSync('cp', ['-r', trust.dir, trustDir]);
    const dataDir = join(work, 'data');
    mkdirSync(dataDir);

    // Operator tokens straight into the state the server process will open (SQLite file or a fresh PostgreSQL database).
    const engine = await testEngine(dataDir);
    const tokens = {} as Record<OperatorRole, string>;
    const store = createOperatorTokenStore(engine.sql);
    for (const role of OPERATOR_ROLES) tokens[role] = (await store.create(role, `stock-${role}`, toTimestamp(new Date()))).token;
    if (engine.db) cleanups.push(() => (engine.db as TestDatabase).drop());
    else await engine.sql.close();

    const server: ServerProcess = await startServerProcess({
      OTA_DATA_DIR: dataDir, OTA_TRUST_DIR: trustDir, OTA_DEMO: 'false', OTA_LOG_LEVEL: 'debug',
      OTA_DDI_POLL_SECONDS: '1', OTA_HEALTH_INTERVAL_SECONDS: '1',
      ...(engine.databaseUrl ? { OTA_DATABASE_URL: engine.databaseUrl } : {}),
    });
    cleanups.push(async () => {
      server.proc.kill('SIGKILL');
      await server.exited();
    });
    const api = async (method: string, path: string, token?: string, body?: unknown, raw?: Buffer, auth = 'Bearer'): Promise<Api> => {
      const headers: Record<string, string> = {};
      if (token) headers.Authorization = `${auth} ${token}`;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      if (raw) headers['Content-Type'] = 'application/octet-stream';
      const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : raw ? { body: new Uint8Array(raw) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    const rm = tokens['release-manager'];

    // The image: a P-256 signer (apart from the release keys), a signed .swu whose rawfile image lands in work/target.
    const signer = makeSigner(work, 'ota-swu-signer');
    const stranger = makeSigner(work, 'someone-else');
    const target = join(work, 'target');
    mkdirSync(target);
    const payload = randomBytes(64 * 1024);
    const good = makeSwu(work, { signer, payload, targetPath: join(target, 'payload.bin'), version: '2.0.0', hardwareRevision: '1.0' });
    const up = await api('PUT', `/v1/artifacts?name=${RELEASE}.swu`, rm, undefined, good);
    expect(up.status, JSON.stringify(up.body)).toBe(201);

    // A threshold-signed release pinning the .swu's sha256, and a two-stage rollout: the lab first, then everyone.
    const signed = releaseBody({
      id: RELEASE, models: [MODEL], appliesTo: '>=1.0.0 <2.0.0', version: '2.0.0', settings: [],
      artifact: { sha256: up.body.sha256 as string, size: good.length }, issuedAt: toTimestamp(new Date(Date.now() - 60_000)),
    });
    expect((await api('POST', '/v1/releases', rm, signWith(signed, trust.releaseKeys))).status).toBe(201);
    expect((await api('POST', '/v1/cohorts', rm, { name: 'lab', rule: { attributes: { lab: 'yes' } } })).status).toBe(201);
    const created = await api('POST', '/v1/rollouts', rm, {
      id: ROLLOUT, releaseId: RELEASE,
      stages: [{ cohort: 'lab', basisPoints: 10000 }, { cohort: 'all', basisPoints: 10000 }],
      failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 2, reportTimeoutSeconds: 3600 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await api('POST', `/v1/rollouts/${ROLLOUT}/start`, rm)).status).toBe(200);
    const status = async () => (await api('GET', `/v1/rollouts/${ROLLOUT}/status`, tokens.qa)).body as { state: string; counts: Record<string, number> };

    // Device 1: stock SWUpdate installs the release, then waits to be restarted.
    const one = runSwupdate(work, { cert: signer.cert, id: 'acc-0001', url: server.url, gatewayToken: tokens.gateway });
    await waitFor(unlessExited(one, () => (existsSync(join(target, 'payload.bin')) ? true : undefined)), 120_000, () => `device 1 did not install:\n${one.output()}`, 200);
    await waitFor(async () => ((await status()).counts.installing === 1 ? true : undefined), 30_000, () => `not counted installing:\n${one.output()}`, 200);
    expect(Buffer.compare(readFileSync(join(target, 'payload.bin')), payload)).toBe(0);
    const device = (await api('GET', '/v1/devices/acc-0001', tokens.viewer)).body;
    expect(device).toMatchObject({ model: MODEL, attributes: { model: MODEL, lab: 'yes' } });
    await stopSwupdate(one);

    // Restarted with -c 2 it confirms: closed + success → applied.
    const again = runSwupdate(work, { cert: signer.cert, id: 'acc-0001', url: server.url, gatewayToken: tokens.gateway, confirm: true });
    await waitFor(unlessExited(again, async () => ((await status()).counts.applied === 1 ? true : undefined)), 120_000, () => `device 1 did not confirm:\n${again.output()}`, 200);
    await stopSwupdate(again);
    expect((await status()).state).toBe('running');

    // A DDI device (plain HTTP here) that takes the offer and is still installing when the rollout halts.
    const gw = (path: string, method = 'GET', body?: unknown) => api(method, `/DEFAULT/controller/v1/${path}`, tokens.gateway, body, undefined, 'GatewayToken');
    expect((await gw('acc-open')).status).toBe(200);
    expect((await gw('acc-open/configData', 'PUT', { data: { model: MODEL, version: '1.0.0', lab: 'yes' } })).status).toBe(200);
    const openLink = (await gw('acc-open')).body._links.deploymentBase.href as string;
    const openId = /\/deploymentBase\/([0-9]+)$/.exec(openLink)?.[1] as string;
    expect((await gw(`acc-open/deploymentBase/${openId}/feedback`, 'POST', { id: openId, status: { execution: 'proceeding', result: { finished: 'none' }, details: ['started'] } })).status).toBe(200);

    // Device 2 trusts another certificate: to it the .swu is signed by a stranger. It downloads, refuses, reports failure.
    const two = runSwupdate(work, { cert: stranger.cert, id: 'acc-0002', url: server.url, gatewayToken: tokens.gateway });
    await waitFor(unlessExited(two, async () => ((await status()).counts.failed === 1 ? true : undefined)), 120_000, () => `device 2 did not fail:\n${two.output()}`, 200);
    await stopSwupdate(two);
    const failed = (await api('GET', `/v1/rollouts/${ROLLOUT}/devices?state=failed`, tokens.viewer)).body.devices as { deviceId: string; error: { code: string; message: string } }[];
    expect(failed.map((d) => d.deviceId)).toEqual(['acc-0002']);
    expect(failed[0]?.error.code).toBe('ddi_failure');
    // protocol §11: SWUpdate's own line from its closing feedback, the first ERROR line, else the last line. Debian's
    // 2022.12 sends the cause ("ERROR : Authentication of all signatures failed") in an earlier `proceeding`
    // feedback, then closes with "ERROR : Compatible SW not found" and "No suitable .swu image found" (the first
    // of them missing when its IPC write raced): docs/protocol-notes.md, hawkBit DDI gateway, "Which line is the error".
    expect(failed[0]?.error.message).toMatch(/^ERROR|^No suitable \.swu image found$/);
    expect(existsSync(join(target, 'payload.bin'))).toBe(true);

    // 1 of 2 terminal reports failed, over the 20 % threshold: the rollout halts by itself.
    await waitFor(async () => ((await status()).state === 'halted' ? true : undefined), 30_000, () => 'the rollout did not halt', 200);
    const audit = JSON.stringify((await api('GET', '/v1/audit', tokens.viewer)).body);
    expect(audit).toContain('"action":"ddi.register","subject":"acc-0001"');
    expect(audit).toContain('"actor":"system:auto-halt"');

    // The device with an open action is told to cancel; a fresh controller is offered nothing.
    const poll = (await gw('acc-open')).body;
    expect(poll._links.deploymentBase).toBeUndefined();
    expect(poll._links.cancelAction.href).toBe(`${server.url}/DEFAULT/controller/v1/acc-open/cancelAction/${openId}`);
    expect((await gw(`acc-open/cancelAction/${openId}/feedback`, 'POST', { id: openId, status: { execution: 'closed', result: { finished: 'success' } } })).status).toBe(200);
    expect((await status()).counts).toMatchObject({ applied: 1, failed: 1, declined: 1, installing: 0 });
    expect((await gw('acc-0003')).status).toBe(200);
    expect((await gw('acc-0003/configData', 'PUT', { data: { model: MODEL, version: '1.0.0', lab: 'yes' } })).status).toBe(200);
    expect((await gw('acc-0003')).body._links).toEqual({});

    // SWUpdate fetched the artifact with HEAD and GET.
    const artifactRequests = server.logs().filter((l) => typeof l.path === 'string' && (l.path as string).includes('/softwaremodules/')).map((l) => l.method);
    expect(artifactRequests).toContain('HEAD');
    expect(artifactRequests).toContain('GET');
  }, 400_000);
});
