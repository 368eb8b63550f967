import type { SettingState, SettingValue } from '../../protocol/trust/settings-policy.js';
import { checkOfferLogged, type WitnessPolicy } from './log-client.js';
import { initialState, observe, offerContextOf, restoreState, type AgentState, type StateSeed } from './agent-state.js';
import { runOffer, type AgentRuntime, type OfferOutcome } from './offer-runner.js';
import { TransportError, type ArtifactDownloader, type Installer, type StateStore, type Transport } from './ports.js';
import type { RejectReason } from './reasons.js';
import { Reporter } from './reporter.js';
import { SettingsStore } from './settings-store.js';
import { refreshTrust } from './trust-client.js';
import type { VerifyCache } from './verify-cache.js';
import { DEFAULT_CLOCK_SKEW_MS, verifyOffer } from './verify-offer.js';

export interface DeviceAgentOptions extends StateSeed {
  transport: Transport;
  store: StateStore;
  downloader: ArtifactDownloader;
  installer: Installer;
  /** The device's clock (default: the system clock). */
  clock?: () => Date;
  /** protocol §6 clock-skew allowance (default 5 minutes). */
  clockSkewMs?: number;
  /** Shared verification memo (many agents in one process). */
  cache?: VerifyCache;
  /** Apply only offers whose log checkpoint enough of these witnesses cosigned (C2SP tlog-cosignature/v1). */
  witnesses?: WitnessPolicy;
}

export interface CheckResult {
  /** ok: offers handled; not_modified: 304; offline / rate_limited / error: try again later. */
  status: 'ok' | 'not_modified' | 'offline' | 'rate_limited' | 'error';
  outcomes: OfferOutcome[];
  /** Why the device does not trust the server's root chain or policy (every offer was refused). */
  trustProblems: RejectReason[];
  pollAfterSeconds?: number;
  pendingReports: number;
  error?: string;
}

/** Up to this many polls per check: after an install the device polls again with its new version. */
const MAX_ROUNDS = 4;

/**
 * The reference device agent (protocol §2–§7): trust refresh, poll, verify
 * every offer, download, install through the embedding code's hook, apply
 * settings, report — with all progress in one persisted state.
 */
export class DeviceAgent {
  private st: AgentState | undefined;
  private settingsStore: SettingsStore | undefined;
  private running: Promise<CheckResult> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readonly reporter: Reporter;

  constructor(private readonly o: DeviceAgentOptions) {
    this.reporter = new Reporter(() => this.state, o.transport, () => this.save());
  }

  get deviceId(): string {
    return this.o.deviceId;
  }

  private get state(): AgentState {
    if (!this.st) throw new Error('DeviceAgent.load() has not run');
    return this.st;
  }

  /** Restores the saved state, or starts from the pinned root and factory values. */
  async load(): Promise<void> {
    if (this.st) return;
    const raw = await this.o.store.load();
    this.st = raw === undefined ? initialState(this.o) : restoreState(raw, this.o);
    this.settingsStore = new SettingsStore(this.st.settings);
    if (raw === undefined) await this.save();
  }

  /** A read-only copy of the persisted state (installed version, settings, queue...). */
  snapshot(): AgentState {
    return structuredClone(this.state);
  }

  get installedVersion(): string {
    return this.state.installedVersion;
  }

  get settings(): Record<string, SettingState> {
    return structuredClone(this.state.settings);
  }

  /** protocol §3: the user's own choice, always honoured, source `user`. */
  async setByUser(key: string, value: SettingValue): Promise<SettingState> {
    await this.load();
    const s = (this.settingsStore as SettingsStore).setByUser(key, value);
    await this.save();
    return s;
  }

  /** Sends queued reports in seq order; they leave the queue only after a 2xx. */
  async flushReports(): Promise<{ sent: number; pending: number; error?: string }> {
    await this.load();
    return this.reporter.flush();
  }

  /** One update check; concurrent calls share the one in progress. */
  checkAndApply(): Promise<CheckResult> {
    this.running ??= this.check().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Saves are serialised and snapshot the state when called. */
  private save(): Promise<void> {
    const json = JSON.stringify(this.state);
    this.saving = this.saving.catch(() => undefined).then(() => this.o.store.save(json));
    return this.saving;
  }

  private clock(): Date {
    return this.o.clock ? this.o.clock() : new Date();
  }

  /** The agent's notion of now: the device clock, never below the newest verified issuedAt. */
  private now(): Date {
    const t = this.clock().getTime();
    const floor = this.state.timeFloor ? Date.parse(this.state.timeFloor) : 0;
    return new Date(Math.max(t, floor));
  }

  private runtime(trustProblems: RejectReason[]): AgentRuntime {
    const st = this.state;
    return {
      state: st,
      reporter: this.reporter,
      settings: this.settingsStore as SettingsStore,
      downloader: this.o.downloader,
      installer: this.o.installer,
      now: () => this.now(),
      save: () => this.save(),
      verify: (offer) => {
        const v = verifyOffer(offer, offerContextOf(st, trustProblems), this.clock(), { skewMs: this.o.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, cache: this.o.cache });
        observe(st, v.observed);
        return v;
      },
      checkLog: (offer) => checkOfferLogged(this.o.transport, st, offer, this.o.cache, this.o.witnesses),
    };
  }

  private async check(): Promise<CheckResult> {
    await this.load();
    const st = this.state;
    const outcomes: OfferOutcome[] = [];
    let trustProblems: RejectReason[] = [];
    const done = async (status: CheckResult['status'], extra: Partial<CheckResult> = {}): Promise<CheckResult> => {
      const flushed = status === 'offline' ? { pending: st.queue.length } : await this.reporter.flush();
      return { status, outcomes, trustProblems, pendingReports: flushed.pending, pollAfterSeconds: st.pollAfterSeconds, ...extra };
    };
    try {
      await this.reporter.flush();
      const before = `${st.root.signed.version}/${st.policy?.signed.version}`;
      const trust = await refreshTrust(this.o.transport, st, this.now(), {
        cache: this.o.cache,
        onRoot: async (root) => {
          st.root = root;
          await this.save();
        },
      });
      if (trust.policy) st.policy = trust.policy;
      if (trust.policyEtag) st.policyEtag = trust.policyEtag;
      else delete st.policyEtag;
      trustProblems = trust.problems;
      if (`${st.root.signed.version}/${st.policy?.signed.version}` !== before || trustProblems.length) delete st.etag;
      const rt = this.runtime(trustProblems);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const path = `/v1/devices/${encodeURIComponent(st.deviceId)}/update?version=${encodeURIComponent(st.installedVersion)}`;
        const res = await this.o.transport.get(path, st.etag ? { 'If-None-Match': st.etag } : {});
        if (res.status === 304) return done(round === 0 ? 'not_modified' : 'ok');
        if (res.status === 429) return done('rate_limited', { pollAfterSeconds: Number(res.header('retry-after')) || st.pollAfterSeconds });
        const body = res.json as { updates?: unknown; pollAfterSeconds?: unknown } | undefined;
        if (res.status !== 200 || !Array.isArray(body?.updates)) return done('error', { error: `GET update answered ${res.status}` });
        if (typeof body.pollAfterSeconds === 'number') st.pollAfterSeconds = body.pollAfterSeconds;
        let stop: 'interrupted' | 'installed' | undefined;
        let waiting = false;
        for (const offer of body.updates) {
          const out = await runOffer(rt, offer);
          outcomes.push(out);
          // Waiting for a maintenance window: the same answer must be read again later, not answered 304.
          if (out.result === 'waiting') waiting = true;
          stop = out.result === 'interrupted' ? 'interrupted' : out.installed ? 'installed' : undefined;
          if (stop) break;
        }
        // Keep the ETag only for an answer fully handled, so an interrupted one is fetched again.
        const etag = res.header('etag');
        if (stop || waiting || trustProblems.length || !etag) delete st.etag;
        else st.etag = etag;
        await this.save();
        if (stop !== 'installed') return done('ok');
      }
      return done('ok');
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      await this.save();
      return done('offline', { error: e.message });
    }
  }
}
