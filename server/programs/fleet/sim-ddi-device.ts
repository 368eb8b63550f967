import { createHash } from 'node:crypto';
import type { CheckResult } from '../agent/device-agent.js';
import type { AgentState } from '../agent/agent-state.js';
import { EnrollmentError } from '../agent/enroll.js';
import { TransportError } from '../agent/ports.js';
import type { ReportState } from '../../protocol/report-rules.js';
import { chance } from './fleet-random.js';
import type { LedgerEntry } from './sim-device.js';

export interface SimDdiSetup {
  id: string;
  seed: string;
  baseUrl: string;
  /** protocol §11: the tenant in every path (default DEFAULT). */
  tenant?: string;
  model: string;
  version: string;
  failRate: number;
  offlineRate: number;
  fetch?: typeof fetch;
}

interface Links {
  deploymentBase?: { href: string };
  cancelAction?: { href: string };
  configData?: { href: string };
}

interface Deployment {
  id: string;
  deployment: { chunks: { name: string; version: string; artifacts: { filename: string; size: number; hashes: { sha256: string }; _links: { download: { href: string } } }[] }[] };
}

/** An answer that is not 2xx, with its status (the simulator retries 429 and 5xx enrollments). */
class DdiHttpError extends Error {
  constructor(readonly status: number, what: string) {
    super(`${what}: HTTP ${status}`);
  }
}

/**
 * One simulated hawkBit DDI controller (protocol §11) behaving like a stock
 * SWUpdate in suricatta mode: registration by the gateway token on the first
 * base poll, configData, deploymentBase, `proceeding` feedback, the artifact
 * download (its sha256 checked), then `closed` + success or failure (a
 * deterministic failure rate), and a `closed` acknowledgement of any
 * cancelAction. Its ledger is kept per release (a DDI client never learns
 * rollout ids), in the reference agents' shape, so the one tally counts it.
 */
export class SimDdiDevice {
  enrolled = false;
  enrollError: string | undefined;
  enrollMessage: string | undefined;
  readonly ledger = new Map<string, LedgerEntry>();
  readonly offered = new Set<string>();
  readonly pendingReports = 0;
  readonly optedIn = false;
  private token = '';
  private version: string;
  private readonly base: string;

  constructor(readonly setup: SimDdiSetup) {
    this.version = setup.version;
    this.base = `${setup.baseUrl}/${encodeURIComponent(setup.tenant ?? 'DEFAULT')}/controller/v1/${encodeURIComponent(setup.id)}`;
  }

  get id(): string {
    return this.setup.id;
  }

  /** No agent state: a DDI client keeps no settings and queues no reports. */
  snapshot(): Pick<AgentState, 'queue' | 'refused' | 'settings'> {
    return { queue: [], refused: [], settings: {} };
  }

  private async call(method: string, url: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await (this.setup.fetch ?? globalThis.fetch)(url, {
        method,
        headers: { Authorization: `GatewayToken ${this.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new TransportError(`${method} ${new URL(url).pathname}: ${(e as Error).message}`, undefined, { cause: e });
    }
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new DdiHttpError(res.status, `${method} ${new URL(url).pathname}`);
    }
    return res;
  }

  private async json<T>(method: string, url: string, body?: unknown): Promise<T> {
    return (await (await this.call(method, url, body)).json()) as T;
  }

  private async configData(): Promise<void> {
    await this.call('PUT', `${this.base}/configData`, { id: '', data: { model: this.setup.model, version: this.version }, mode: 'replace' });
  }

  /** Registration: the first base poll with the gateway token, then configData (as SWUpdate does after every start). */
  async enroll(gatewayToken: string): Promise<void> {
    this.token = gatewayToken;
    try {
      await this.json<{ _links: Links }>('GET', this.base);
      await this.configData();
      this.enrolled = true;
    } catch (e) {
      if (e instanceof DdiHttpError) throw new EnrollmentError(e.message, e.status);
      throw e;
    }
  }

  private note(releaseId: string, state: ReportState): void {
    this.ledger.set(releaseId, { releaseId, state, settings: {} });
  }

  private feedback(url: string, execution: string, finished: string, details: string[]): Promise<Response> {
    return this.call('POST', `${url}/feedback`, { id: '', status: { execution, result: { finished, progress: { cnt: 0, of: 1 } }, details } });
  }

  /** One base poll and whatever it links. */
  async check(round: number): Promise<CheckResult> {
    const s = this.setup;
    const result = (status: CheckResult['status'], error?: string): CheckResult => ({ status, outcomes: [], trustProblems: [], pendingReports: 0, ...(error ? { error } : {}) });
    if (chance(s.offlineRate, s.seed, s.id, 'offline', round)) return result('offline');
    try {
      return result(await this.poll());
    } catch (e) {
      if (e instanceof TransportError) return result('offline', e.message);
      if (e instanceof DdiHttpError) return result(e.status === 429 ? 'rate_limited' : 'error', e.message);
      throw e;
    }
  }

  private async poll(): Promise<'ok'> {
    const links = (await this.json<{ _links: Links }>('GET', this.base))._links;
    if (links.configData) await this.configData();
    if (links.cancelAction) {
      const href = links.cancelAction.href;
      const cancel = await this.json<{ cancelAction: { stopId: string } }>('GET', href);
      const releaseId = [...this.ledger.values()].find((e) => e.state === 'installing')?.releaseId;
      await this.feedback(href, 'closed', 'success', [`cancelled action ${cancel.cancelAction.stopId}`]);
      if (releaseId !== undefined) this.note(releaseId, 'declined');
      return 'ok';
    }
    if (!links.deploymentBase) return 'ok';
    const href = links.deploymentBase.href;
    const d = await this.json<Deployment>('GET', href);
    const chunk = d.deployment.chunks[0];
    const artifact = chunk?.artifacts[0];
    if (!chunk || !artifact) throw new Error('deploymentBase without an artifact');
    this.offered.add(chunk.name);
    await this.feedback(href, 'proceeding', 'none', ['Installing Update Chunk Artifacts.']);
    this.note(chunk.name, 'installing');
    const bytes = Buffer.from(await (await this.call('GET', artifact._links.download.href)).arrayBuffer());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== artifact.hashes.sha256) {
      await this.feedback(href, 'closed', 'failure', [`ERROR : sha256 of ${artifact.filename} does not match`]);
      this.note(chunk.name, 'failed');
      return 'ok';
    }
    if (chance(this.setup.failRate, this.setup.seed, this.setup.id, chunk.name, 'install')) {
      await this.feedback(href, 'closed', 'failure', ['ERROR : simulated install failure', 'No suitable .swu image found']);
      this.note(chunk.name, 'failed');
      return 'ok';
    }
    await this.feedback(href, 'closed', 'success', ['Update Installed.']);
    this.note(chunk.name, 'applied');
    // After the reboot into the new image its identify data says the new version.
    this.version = chunk.version;
    await this.configData();
    return 'ok';
  }

  /** Nothing is ever queued: feedback is sent when it happens. */
  drain(): Promise<number> {
    return Promise.resolve(0);
  }
}
