import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { CheckResult } from '../agent/device-agent.js';
import { EnrollmentError } from '../agent/enroll.js';
import { TransportError } from '../agent/ports.js';
import type { AgentState } from '../agent/agent-state.js';
import { chance } from './fleet-random.js';
import type { LedgerEntry } from './sim-device.js';

export interface SimMenderSetup {
  id: string;
  seed: string;
  baseUrl: string;
  model: string;
  version: string;
  failRate: number;
  offlineRate: number;
  fetch?: typeof fetch;
}

type Json = Record<string, unknown>;

/**
 * One simulated stock Mender client (protocol §12), speaking only Mender's
 * device API: its own key, admission (preauthorized by the operator token
 * the run is given, then auth_requests), inventory, deployments/next, the
 * artifact through the signed link, the statuses the 3.x client sends, and
 * the log on a failure. Its ledger has the shape of the reference agents'
 * so the same tally compares it with the server. A Mender client verifies
 * its artifact's own signature, not this contract's documents: the
 * simulator checks the bytes arrive whole (Content-Length).
 */
export class SimMenderDevice {
  enrollError: string | undefined;
  enrollMessage: string | undefined;
  readonly ledger = new Map<string, LedgerEntry>();
  readonly offered = new Set<string>();
  readonly pendingReports = 0;
  readonly optedIn = false;
  private token: string | undefined;
  private artifactName: string;
  private readonly key: { privateKey: KeyObject; pem: string };
  private readonly idData: string;

  constructor(readonly setup: SimMenderSetup) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.key = { privateKey: pair.privateKey, pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    this.idData = JSON.stringify({ serial: setup.id });
    this.artifactName = setup.version;
  }

  get id(): string {
    return this.setup.id;
  }

  get enrolled(): boolean {
    return this.token !== undefined;
  }

  /** No agent state: a Mender client keeps no settings and queues no reports. */
  snapshot(): Pick<AgentState, 'queue' | 'refused' | 'settings'> {
    return { queue: [], refused: [], settings: {} };
  }

  private async call(method: string, path: string, o: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    try {
      return await (this.setup.fetch ?? globalThis.fetch)(`${this.setup.baseUrl}${path}`, {
        method,
        headers: { ...(o.token !== undefined ? { Authorization: `Bearer ${o.token}` } : {}), ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers },
        ...(o.body !== undefined ? { body: o.body } : {}),
      });
    } catch (e) {
      throw new TransportError(`${method} ${path}: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  /** The operator preauthorizes this identity and key (`operatorToken`), then the device asks and gets its token. */
  async enroll(operatorToken: string): Promise<void> {
    const pre = await this.call('POST', '/v1/preauthorizations', { token: operatorToken, body: JSON.stringify({ idData: this.idData, pubkey: this.key.pem }) });
    if (pre.status !== 201) throw await enrollmentError(pre);
    const body = `${JSON.stringify({ id_data: this.idData, pubkey: this.key.pem, tenant_token: '' })}\n`;
    const signature = sign('sha256', Buffer.from(body), this.key.privateKey).toString('base64');
    const auth = await this.call('POST', '/api/devices/v1/authentication/auth_requests', { body, headers: { 'X-MEN-Signature': signature } });
    if (auth.status !== 200) throw await enrollmentError(auth);
    this.token = await auth.text();
    const inv = await this.call('PUT', '/api/devices/v1/inventory/device/attributes', {
      token: this.token,
      body: JSON.stringify([{ name: 'device_type', value: this.setup.model }, { name: 'artifact_name', value: this.artifactName }, { name: 'mender_client_version', value: 'sim' }]),
    });
    if (inv.status !== 200) throw await enrollmentError(inv);
  }

  /** One cycle of the client: next → download → statuses (→ log); offline rounds make no request. */
  async check(round: number): Promise<CheckResult> {
    const s = this.setup;
    const result = (status: CheckResult['status'], error?: string): CheckResult => ({ status, outcomes: [], trustProblems: [], pendingReports: 0, ...(error ? { error } : {}) });
    if (chance(s.offlineRate, s.seed, s.id, 'offline', round)) return result('offline');
    const token = this.token as string;
    try {
      const next = await this.call('POST', '/api/devices/v2/deployments/device/deployments/next', {
        token, body: JSON.stringify({ device_provides: { device_type: s.model, artifact_name: this.artifactName }, update_control_map: true }),
      });
      if (next.status === 204) return result('ok');
      if (next.status === 429) return result('rate_limited');
      if (next.status !== 200) return result('error', `deployments/next answered ${next.status}`);
      const d = (await next.json()) as { id: string; artifact: { artifact_name: string; source: { uri: string } } };
      this.offered.add(d.id);
      const status = async (value: string): Promise<number> => {
        const res = await this.call('PUT', `/api/devices/v1/deployments/device/deployments/${encodeURIComponent(d.id)}/status`, { token, body: JSON.stringify({ status: value }) });
        await res.arrayBuffer();
        return res.status;
      };
      const note = (state: LedgerEntry['state']): void => {
        // A Mender client is not told the release id: the ledger names the artifact it was offered.
        this.ledger.set(d.id, { releaseId: `artifact ${d.artifact.artifact_name}`, state, settings: {} });
      };
      if (d.artifact.artifact_name === this.artifactName) {
        if ((await status('already-installed')) === 204) note('applied');
        return result('ok');
      }
      if ((await status('downloading')) === 409) return (note('declined'), result('ok'));
      note('downloading');
      const artifact = await (s.fetch ?? globalThis.fetch)(d.artifact.source.uri);
      const bytes = Buffer.from(await artifact.arrayBuffer());
      if (artifact.status !== 200 || bytes.length !== Number(artifact.headers.get('content-length'))) return result('error', `artifact download answered ${artifact.status}`);
      if ((await status('installing')) === 409) return (note('declined'), result('ok'));
      note('installing');
      if (chance(s.failRate, s.seed, s.id, 'install', d.id)) {
        if ((await status('failure')) === 204) note('failed');
        await this.call('PUT', `/api/devices/v1/deployments/device/deployments/${encodeURIComponent(d.id)}/log`, {
          token, body: JSON.stringify({ messages: [{ level: 'error', message: 'simulated installer failure', timestamp: new Date().toISOString() }] }),
        });
        return result('ok');
      }
      if ((await status('success')) === 204) {
        note('applied');
        this.artifactName = d.artifact.artifact_name;
      }
      return result('ok');
    } catch (e) {
      if (e instanceof TransportError) return result('offline', e.message);
      throw e;
    }
  }

  /** Nothing is ever queued: a status is sent when it happens. */
  drain(): Promise<number> {
    return Promise.resolve(0);
  }
}

async function enrollmentError(res: Response): Promise<EnrollmentError> {
  let code: string | undefined;
  let message = `${res.status}`;
  try {
    const body = (await res.json()) as Json;
    const error = body.error as { code?: string; message?: string } | undefined;
    code = error?.code;
    message = error?.message ?? message;
  } catch {
    // not JSON
  }
  return new EnrollmentError(message, res.status, code);
}
