import { createHash } from 'node:crypto';
import type { ReportState } from '../../protocol/report-rules.js';
import { chance } from './fleet-random.js';
import type { CheckStatus, FleetOptions, FleetPhase, FleetProgress, FleetResult } from './fleet-simulator.js';
import { tallyFleet, type FleetTally } from './fleet-tally.js';
import { cuttableFetch, GRACE_MS, messageOf, pause, runPool } from './run-control.js';
import type { LedgerEntry } from './sim-device.js';

/**
 * `ota fleet simulate --protocol ddi`: N simulated hawkBit DDI controllers
 * (protocol §11) behaving like a stock SWUpdate: registration by the
 * gateway token on the first base poll, configData, deploymentBase,
 * `proceeding` feedback, the artifact download (its sha256 checked), then
 * `closed` + success or failure (a deterministic failure rate), and a
 * `closed` acknowledgement of any cancelAction. Each device keeps its own
 * ledger, per release (a DDI client never learns rollout ids), so the tally
 * is what the devices did.
 */

export interface DdiFleetOptions extends Pick<FleetOptions, 'server' | 'devices' | 'model' | 'version' | 'failRate' | 'durationSeconds' | 'concurrency' | 'idPrefix' | 'seed' | 'intervalSeconds' | 'fetch' | 'signal' | 'onProgress' | 'progressIntervalMs'> {
  /** A token of the `gateway` role: registers every controller on its first poll. */
  gatewayToken: string;
  /** protocol §11: the tenant (default DEFAULT). */
  tenant?: string;
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

class DdiHttpError extends Error {
  constructor(readonly status: number, what: string) {
    super(`${what}: HTTP ${status}`);
  }
}

/** One simulated DDI controller. */
export class DdiSimDevice {
  enrolled = false;
  enrollError: string | undefined;
  readonly ledger = new Map<string, LedgerEntry>();
  readonly offered = new Set<string>();
  private version: string;

  constructor(private readonly o: { id: string; base: string; token: string; model: string; version: string; failRate: number; seed: string; fetch: typeof fetch }) {
    this.version = o.version;
  }

  get id(): string {
    return this.o.id;
  }

  private async call(method: string, url: string, body?: unknown): Promise<Response> {
    const res = await this.o.fetch(url, {
      method,
      headers: { Authorization: `GatewayToken ${this.o.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
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
    await this.call('PUT', `${this.o.base}/configData`, { id: '', data: { model: this.o.model, version: this.version }, mode: 'replace' });
  }

  /** Registration: the first base poll with the gateway token, then configData (as SWUpdate does after every start). */
  async enroll(): Promise<void> {
    try {
      await this.json<{ _links: Links }>('GET', this.o.base);
      await this.configData();
      this.enrolled = true;
    } catch (e) {
      this.enrollError = e instanceof DdiHttpError ? String(e.status) : 'network';
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
  async check(): Promise<CheckStatus> {
    const poll = await this.json<{ _links: Links }>('GET', this.o.base);
    const links = poll._links;
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
    if (chance(this.o.failRate, this.o.seed, this.o.id, chunk.name, 'install')) {
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
}

/** Runs a DDI fleet until the duration is up; the devices' own tally, in the same shape as the native simulator's. */
export async function simulateDdiFleet(o: DdiFleetOptions): Promise<FleetResult> {
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const deadline = t0 + o.durationSeconds * 1000;
  const stopped = (): boolean => performance.now() >= deadline || o.signal?.aborted === true;
  const net = cuttableFetch(o.fetch ?? globalThis.fetch);
  net.cutAt(deadline + GRACE_MS);
  const checks: Record<CheckStatus, number> = { ok: 0, not_modified: 0, offline: 0, rate_limited: 0, error: 0, exception: 0 };
  const errors = new Map<string, number>();
  const tenant = encodeURIComponent(o.tenant ?? 'DEFAULT');
  let phase: FleetPhase = 'enrolling';
  let round = 0;

  const devices = Array.from({ length: o.devices }, (_, i) => {
    const id = `${o.idPrefix}-${i}`;
    return new DdiSimDevice({
      id, base: `${o.server}/${tenant}/controller/v1/${encodeURIComponent(id)}`, token: o.gatewayToken,
      model: o.model, version: o.version, failRate: o.failRate, seed: o.seed, fetch: net.fetch,
    });
  });
  const tally = (): FleetTally => tallyFleet(devices.map((d) => ({
    enrolled: d.enrolled, ...(d.enrollError !== undefined ? { enrollError: d.enrollError } : {}), optedIn: false,
    offered: d.offered, ledger: d.ledger, pendingReports: 0, refusedReports: 0,
  })));
  const noteError = (e: unknown): void => {
    const m = messageOf(e).slice(0, 200);
    errors.set(m, (errors.get(m) ?? 0) + 1);
  };
  const progress = (): FleetProgress => {
    const t = tally();
    return {
      phase, elapsedSeconds: elapsed(), durationSeconds: o.durationSeconds, round, devices: o.devices, enrolled: t.enrolled, enrollFailed: t.enrollFailed,
      checks: Object.values(checks).reduce((a, b) => a + b, 0), offline: 0, applied: t.applied, failed: t.failed, rejected: t.rejected, inProgress: t.inProgress, pendingReports: 0,
    };
  };
  const emit = (): void => o.onProgress?.(progress());
  const timer = o.onProgress ? setInterval(emit, o.progressIntervalMs ?? 1000) : undefined;
  timer?.unref();

  try {
    emit();
    await runPool(devices, o.concurrency, stopped, async (d) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await d.enroll();
        } catch (e) {
          if (!(e instanceof DdiHttpError && (e.status === 429 || e.status >= 500)) || attempt >= 8 || stopped()) {
            if (!(e instanceof DdiHttpError)) noteError(e);
            return;
          }
          await pause(Math.min(250 * 2 ** attempt, 10_000), o.signal);
        }
      }
    });
    const enrolled = devices.filter((d) => d.enrolled);
    phase = 'polling';
    emit();
    while (!stopped() && enrolled.length > 0) {
      round += 1;
      const started = performance.now();
      await runPool(enrolled, o.concurrency, stopped, async (d) => {
        try {
          checks[await d.check()] += 1;
        } catch (e) {
          if (e instanceof DdiHttpError && e.status === 429) checks.rate_limited += 1;
          else if (e instanceof DdiHttpError) checks.error += 1;
          else checks.exception += 1;
          noteError(e);
        }
      });
      await pause(Math.min(started + o.intervalSeconds * 1000, deadline) - performance.now(), o.signal);
    }
  } finally {
    if (timer) clearInterval(timer);
    net.cutAt(performance.now());
  }
  phase = 'done';
  emit();
  return {
    server: o.server,
    seed: o.seed,
    idPrefix: o.idPrefix,
    durationSeconds: o.durationSeconds,
    elapsedSeconds: Math.round(elapsed() * 10) / 10,
    rounds: round,
    checks,
    errors: [...errors].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
    cache: { hits: 0, misses: 0 },
    ...tally(),
  };
}
