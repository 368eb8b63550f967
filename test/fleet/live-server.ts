import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATOR_ROLES, type OperatorRole } from '../../server/auth/principal.js';
import { loadConfig, type Config } from '../../server/config.js';
import type { ReleaseSigned } from '../../server/protocol/release-manifest.js';
import { startServer, type Running } from '../../server/serve.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { makeTrust, releaseBody, signWith, testDatabaseConfig, type TrustFixture } from '../helpers/fixtures.js';

/** A real server on 127.0.0.1:0 with a generated trust folder and one operator token per role. */
export interface LiveServer {
  running: Running;
  url: string;
  trust: TrustFixture;
  rootFile: string;
  tokens: Record<OperatorRole, string>;
  close(): Promise<void>;
}

/**
 * The folders live as long as the server, not one test (helpers/fixtures.ts
 * removes its temp folders after each test): the trust folder is copied out.
 */
export async function startLiveServer(config: Partial<Config> = {}): Promise<LiveServer> {
  const base = mkdtempSync(join(tmpdir(), 'ota-live-'));
  const made = makeTrust();
  const trust = { ...made, dir: join(base, 'trust') };
  cpSync(made.dir, trust.dir, { recursive: true });
  const dataDir = join(base, 'data');
  const running = await startServer(loadConfig({}, { dataDir, trustDir: trust.dir, port: 0, logLevel: 'silent', demo: false, ...(await testDatabaseConfig()), ...config }), () => undefined);
  const tokens = {} as Record<OperatorRole, string>;
  for (const role of OPERATOR_ROLES) tokens[role] = (await running.ctx.operatorTokens.create(role, `test-${role}`, toTimestamp(new Date()))).token;
  return { running, url: running.url, trust, rootFile: join(trust.dir, 'root.json'), tokens, close: async () => {
    await running.close();
    rmSync(base, { recursive: true, force: true });
  } };
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One JSON request with fetch; a closed keep-alive socket is retried once. */
export async function api(s: LiveServer, method: string, path: string, token: string | undefined, body?: unknown, raw?: Uint8Array): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw) headers['Content-Type'] = 'application/octet-stream';
  const init: RequestInit = { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : raw ? { body: raw as Uint8Array<ArrayBuffer> } : {}) };
  let res: Response;
  try {
    res = await fetch(`${s.url}${path}`, init);
  } catch {
    res = await fetch(`${s.url}${path}`, init);
  }
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A small artifact, uploaded; the release 1.4.1 → 1.4.3 that turns cloud messaging opt-in (default mode), published. */
export async function publishOptinRelease(s: LiveServer, over: Partial<ReleaseSigned> = {}): Promise<ReleaseSigned> {
  const bytes = new TextEncoder().encode('redmi-1s 1.4.3\n'.repeat(256));
  const up = await api(s, 'PUT', '/v1/artifacts', s.tokens['release-manager'], undefined, bytes);
  if (up.status !== 201 && up.status !== 200) throw new Error(`artifact upload: ${up.status} ${JSON.stringify(up.body)}`);
  const signed = releaseBody({
    id: 'redmi-1s-optin',
    version: '1.4.3',
    artifact: { sha256: up.body.sha256 as string, size: up.body.size as number },
    issuedAt: toTimestamp(new Date(Date.now() - 60_000)),
    ...over,
  });
  const pub = await api(s, 'POST', '/v1/releases', s.tokens['release-manager'], signWith(signed, s.trust.releaseKeys));
  if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${JSON.stringify(pub.body)}`);
  return signed;
}

/** POST /v1/rollouts, then start it. */
export async function startRollout(s: LiveServer, body: Record<string, unknown>): Promise<string> {
  const created = await api(s, 'POST', '/v1/rollouts', s.tokens['release-manager'], body);
  if (created.status !== 201) throw new Error(`create rollout: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const started = await api(s, 'POST', `/v1/rollouts/${id}/start`, s.tokens['release-manager']);
  if (started.status !== 200) throw new Error(`start rollout: ${started.status} ${JSON.stringify(started.body)}`);
  return id;
}

/** A failure policy that never halts (the tests count failures, they do not want them acted on). */
export const LENIENT = { maxFailureBasisPoints: 10000, minTerminalReports: 1_000_000, reportTimeoutSeconds: 3600 };
