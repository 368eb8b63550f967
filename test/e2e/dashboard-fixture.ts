import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { readKeyFile } from '../../server/protocol/crypto/key-files.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { startServer, type Running } from '../../server/serve.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { releaseBody, tempDir } from '../helpers/fixtures.js';

export const DEMO_ROLLOUT = 'cloud-optin-demo';
export const HALTED_ROLLOUT = 'hotfix-e2e';
/** Attacker-controlled text a device sends as its error message: it must stay text on every page. */
export const EVIL_MESSAGE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

/** A rollout of its own release to a cohort of listed devices, each enrolled, offered it, and reporting as told. */
export interface SeededRollout {
  rolloutId: string;
  releaseId: string;
  cohort: string;
  devices: string[];
  /** Latest report of each device that reports (the others stay silent). */
  outcomes: [string, Record<string, unknown>][];
  failurePolicy: { maxFailureBasisPoints: number; minTerminalReports: number; reportTimeoutSeconds: number };
  stages?: Record<string, unknown>[];
}

export interface DashboardFixture {
  running: Running;
  url: string;
  tokens: { rm: string; qa: string; viewer: string; enroller: string };
  api: <T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown) => Promise<{ status: number; body: T }>;
  /** Publishes, creates, starts and reports a rollout as `seed` says; answers the device tokens. */
  seed: (seed: SeededRollout) => Promise<Map<string, string>>;
}

/**
 * A real server on a temp data folder with the dev trust and the demo
 * rollout (as `npm start` makes it), plus a second rollout that halted by
 * itself: six bench devices, three applied (one reporting a consent setting
 * on by default, one its user's own opt-in), two failed (one with markup in
 * its error message), one silent.
 */
export async function startDashboardServer(): Promise<DashboardFixture> {
  const dataDir = tempDir('ota-ui-');
  const running = await startServer(loadConfig({}, { dataDir, port: 0, logLevel: 'silent', demo: true }), () => undefined);
  const { ctx, url } = running;
  const at = toTimestamp(new Date());
  const token = async (role: 'release-manager' | 'qa' | 'viewer' | 'enroller') => (await ctx.operatorTokens.create(role, `ui-${role}`, at)).token;
  const tokens = { rm: await token('release-manager'), qa: await token('qa'), viewer: await token('viewer'), enroller: await token('enroller') };
  const api = async <T = Record<string, unknown>>(method: string, path: string, bearer: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const must = async (p: Promise<{ status: number; body: unknown }>, status: number) => {
    const r = await p;
    if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
    return r;
  };

  const releaseKey = readKeyFile(join(dataDir, 'dev-keys', 'release.key.json')).private;
  if (!releaseKey) throw new Error('dev release key missing');
  const seed = async (o: SeededRollout): Promise<Map<string, string>> => {
    const release = signEnvelope({ signed: releaseBody({ id: o.releaseId, issuedAt: at }) }, [ed25519Signer(releaseKey)]);
    await must(api('POST', '/v1/releases', tokens.rm, release), 201);
    await must(api('POST', '/v1/cohorts', tokens.rm, { name: o.cohort, description: 'browser test bench', members: o.devices }), 201);
    const stages = o.stages ?? [{ cohort: o.cohort, basisPoints: 10000 }];
    await must(api('POST', '/v1/rollouts', tokens.rm, { id: o.rolloutId, releaseId: o.releaseId, stages, failurePolicy: o.failurePolicy }), 201);
    await must(api('POST', `/v1/rollouts/${o.rolloutId}/start`, tokens.rm), 200);
    const deviceTokens = new Map<string, string>();
    for (const id of o.devices) {
      const r = await must(api('POST', '/v1/devices', tokens.enroller, { deviceId: id, model: 'redmi-1s', version: '1.4.1' }), 201);
      deviceTokens.set(id, (r.body as { deviceToken: string }).deviceToken);
      await must(api('GET', `/v1/devices/${id}/update?version=1.4.1`, deviceTokens.get(id) as string), 200);
    }
    for (const [id, outcome] of o.outcomes) {
      const report = { seq: 1, releaseId: o.releaseId, rolloutId: o.rolloutId, at: toTimestamp(new Date()), ...outcome };
      await must(api('POST', `/v1/devices/${id}/reports`, deviceTokens.get(id) as string, report), 200);
    }
    return deviceTokens;
  };
  const settings = { 'cloud.messaging.enabled': { value: false, source: 'default' } };
  await seed({
    rolloutId: HALTED_ROLLOUT,
    releaseId: 'redmi-1s-hotfix-e2e',
    cohort: 'e2e-bench',
    devices: ['bench-1', 'bench-2', 'bench-3', 'bench-4', 'bench-5', 'bench-6'],
    stages: [{ cohort: 'e2e-bench', basisPoints: 10000, minDwellSeconds: 3600 }, { cohort: 'all', basisPoints: 500 }],
    failurePolicy: { maxFailureBasisPoints: 2000, minTerminalReports: 5, reportTimeoutSeconds: 3600 },
    outcomes: [
      ['bench-1', { state: 'applied', settings }],
      // A device that says a consent setting is on without its user: the compliance alarm.
      ['bench-2', { state: 'applied', settings: { 'cloud.messaging.enabled': { value: true, source: 'default' } } }],
      ['bench-3', { state: 'applied', settings: { 'cloud.messaging.enabled': { value: true, source: 'user' } } }],
      ['bench-4', { state: 'failed', error: { code: 'install_failed', message: EVIL_MESSAGE } }],
      ['bench-5', { state: 'failed', error: { code: 'verify_failed', message: 'boot image hash mismatch' } }],
    ],
  });
  // Auto-halt runs after the commit that carried the fifth terminal report (2 of 5 failed: 40% > 20%).
  for (let i = 0; i < 50 && (await ctx.rollouts.get(HALTED_ROLLOUT))?.state !== 'halted'; i++) await new Promise((r) => setTimeout(r, 20));
  if ((await ctx.rollouts.get(HALTED_ROLLOUT))?.state !== 'halted') throw new Error('the e2e rollout did not halt');
  return { running, url, tokens, api, seed };
}
