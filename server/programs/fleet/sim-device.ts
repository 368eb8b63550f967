import { DeviceAgent, type CheckResult } from '../agent/device-agent.js';
import { enrollDevice } from '../agent/enroll.js';
import { createHttpTransport } from '../agent/http-transport.js';
import { createMemoryStateStore } from '../agent/memory-state-store.js';
import type { AgentReport, ReportState } from '../agent/reporter.js';
import type { SettingsMap } from '../agent/settings-store.js';
import type { VerifyCache } from '../agent/verify-cache.js';
import type { ReleaseSigned } from '../../protocol/release-manifest.js';
import type { SettingValue } from '../../protocol/trust/settings-policy.js';
import { chance, pick } from './fleet-random.js';
import { createMemoryDownloader } from './memory-downloader.js';
import { SimLink } from './sim-link.js';

/** A device's own account of one rollout: the latest state it reported, with its settings merged in. */
export interface LedgerEntry {
  releaseId: string;
  state: ReportState;
  /** error.code of a `rejected` report. */
  code?: string;
  settings: SettingsMap;
}

export interface SimDeviceSetup {
  id: string;
  seed: string;
  baseUrl: string;
  model: string;
  version: string;
  pinnedRoot: unknown;
  factorySettings: Readonly<Record<string, SettingValue>>;
  /** The user's own choice, made before the first update check (protocol §3: always honoured). */
  optIn?: { key: string; value: SettingValue };
  failRate: number;
  offlineRate: number;
  cache: VerifyCache;
  fetch?: typeof fetch;
}

/** A dropped network cuts a check after 0..OUTAGE_POINTS-1 requests: before the poll, mid-download, before the reports... */
const OUTAGE_POINTS = 7;

/**
 * One simulated device: a real DeviceAgent (memory state, memory downloads)
 * over real HTTP, with a network that may drop for a round and an installer
 * that fails by the seeded dice.
 */
export class SimDevice {
  agent: DeviceAgent | undefined;
  link: SimLink | undefined;
  /** Why enrollment failed, as `<status> <code>` or `network`. */
  enrollError: string | undefined;
  enrollMessage: string | undefined;
  /** rolloutId → this device's latest report for it (what it told, or is telling, the server). */
  readonly ledger = new Map<string, LedgerEntry>();
  /** Rollouts whose offers reached this device. */
  readonly offered = new Set<string>();
  pendingReports = 0;
  private lastSeq = 0;

  constructor(readonly setup: SimDeviceSetup) {}

  get id(): string {
    return this.setup.id;
  }

  get enrolled(): boolean {
    return this.agent !== undefined;
  }

  /** The agent's state (the full tally reads its queue, refusals and settings). */
  snapshot(): ReturnType<DeviceAgent['snapshot']> | undefined {
    return this.agent?.snapshot();
  }

  get optedIn(): boolean {
    return this.setup.optIn !== undefined;
  }

  /** POST /v1/devices with the enrollment credential, then the agent on its factory state. */
  async enroll(enrollToken: string): Promise<void> {
    const s = this.setup;
    const fetchOpt = s.fetch ? { fetch: s.fetch } : {};
    const token = await enrollDevice({ baseUrl: s.baseUrl, token: enrollToken, deviceId: s.id, model: s.model, version: s.version, ...fetchOpt });
    const link = new SimLink(createHttpTransport({ baseUrl: s.baseUrl, token, ...fetchOpt }), (path, body) => this.record(path, body));
    const agent = new DeviceAgent({
      transport: link,
      store: createMemoryStateStore(),
      downloader: createMemoryDownloader(link),
      installer: (_path, release) => this.install(release),
      cache: s.cache,
      deviceId: s.id,
      model: s.model,
      factoryVersion: s.version,
      factorySettings: s.factorySettings,
      pinnedRoot: s.pinnedRoot,
    });
    await agent.load();
    if (s.optIn) await agent.setByUser(s.optIn.key, s.optIn.value);
    this.agent = agent;
    this.link = link;
  }

  /** The simulated installer: fails for this device and release with probability failRate. */
  private async install(release: ReleaseSigned): Promise<void> {
    if (chance(this.setup.failRate, this.setup.seed, this.setup.id, 'install', release.id)) throw new Error('simulated installer failure');
  }

  /** One update check in round `round`; with probability offlineRate the network drops part-way. */
  async check(round: number): Promise<CheckResult> {
    const { agent, link } = this.enrolledParts();
    const s = this.setup;
    if (chance(s.offlineRate, s.seed, s.id, 'offline', round)) link.dropAfter(pick(OUTAGE_POINTS, s.seed, s.id, 'outage', round));
    else link.restore();
    const result = await agent.checkAndApply();
    for (const o of result.outcomes) if (o.rolloutId) this.offered.add(o.rolloutId);
    this.pendingReports = result.pendingReports;
    return result;
  }

  /** Back online: sends whatever reports are still queued. */
  async drain(): Promise<number> {
    const { agent, link } = this.enrolledParts();
    link.restore();
    const r = await agent.flushReports();
    this.pendingReports = r.pending;
    return r.pending;
  }

  private enrolledParts(): { agent: DeviceAgent; link: SimLink } {
    if (!this.agent || !this.link) throw new Error(`device ${this.id} is not enrolled`);
    return { agent: this.agent, link: this.link };
  }

  /** Every report the agent tries to send, once per seq, in order (protocol §7: seq increases). */
  private record(path: string, body: unknown): void {
    if (!path.endsWith('/reports')) return;
    for (const r of (Array.isArray(body) ? body : [body]) as AgentReport[]) {
      if (r.seq <= this.lastSeq) continue;
      this.lastSeq = r.seq;
      const entry = this.ledger.get(r.rolloutId) ?? { releaseId: r.releaseId, state: r.state, settings: {} };
      entry.state = r.state;
      if (r.state === 'rejected' && r.error) entry.code = r.error.code;
      if (r.settings) Object.assign(entry.settings, r.settings);
      this.ledger.set(r.rolloutId, entry);
    }
  }
}
