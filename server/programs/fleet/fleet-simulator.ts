import type { CheckResult } from '../agent/device-agent.js';
import { EnrollmentError } from '../agent/enroll.js';
import { TransportError } from '../agent/ports.js';
import { VerifyCache } from '../agent/verify-cache.js';
import type { SettingValue } from '../../protocol/trust/settings-policy.js';
import { chance } from './fleet-random.js';
import { cuttableFetch, GRACE_MS, manyListeners, messageOf, pause, runPool } from './run-control.js';
import { tallyFleet, type FleetTally } from './fleet-tally.js';
import { SimDevice } from './sim-device.js';
import { SimDdiDevice } from './sim-ddi-device.js';
import { SimMenderDevice } from './sim-mender-device.js';
import { backoffDelay } from '../../lib/backoff.js';

export interface FleetOptions {
  /** Base URL of any server speaking docs/protocol.md. */
  server: string;
  /**
   * Enrollment credential for POST /v1/devices (native), a `gateway` token each DDI controller
   * registers with, or a release manager's token that preauthorizes each Mender device.
   */
  enrollToken: string;
  /** native: reference agents (protocol §7); ddi: simulated SWUpdate controllers (§11); mender: simulated stock Mender clients (§12). */
  protocol?: 'native' | 'ddi' | 'mender';
  /** protocol §11: the DDI tenant (default DEFAULT). */
  tenant?: string;
  /** The root envelope every device ships with (protocol §2: devices walk the chain from it). */
  pinnedRoot: unknown;
  devices: number;
  model: string;
  version: string;
  /** Probability (0..1) that a device's installer fails a release. */
  failRate: number;
  /** Probability (0..1) that a device's network drops during a round. */
  offlineRate: number;
  /** Probability (0..1) that the user set `optIn` by hand before any update. */
  userOptinRate: number;
  /** The whole run (enrollment and polling rounds) ends after this long; then queued reports are drained. */
  durationSeconds: number;
  /** Devices enrolling or checking at the same time. */
  concurrency: number;
  /** Device ids are `${idPrefix}-${i}`. */
  idPrefix: string;
  seed: string;
  /** A polling round starts at most this often (simulated time: pollAfterSeconds is not waited for). */
  intervalSeconds: number;
  /** After the duration, at most this long to deliver queued reports with every device back online. */
  drainSeconds: number;
  /**
   * End the polling early once every device is enrolled and a whole round changed nothing the
   * tally counts (no new offer, install, failure or queued report): a rehearsal or a test then
   * measures what the fleet did, not how much of it a busy machine fitted into the duration.
   */
  untilSettled?: boolean;
  factorySettings: Readonly<Record<string, SettingValue>>;
  optIn: { key: string; value: SettingValue };
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: FleetProgress) => void;
  progressIntervalMs?: number;
}

export type FleetPhase = 'enrolling' | 'polling' | 'draining' | 'done';

export interface FleetProgress {
  phase: FleetPhase;
  elapsedSeconds: number;
  durationSeconds: number;
  round: number;
  devices: number;
  enrolled: number;
  enrollFailed: number;
  checks: number;
  offline: number;
  applied: number;
  failed: number;
  rejected: number;
  inProgress: number;
  pendingReports: number;
}

export type CheckStatus = CheckResult['status'] | 'exception';

export interface FleetResult extends FleetTally {
  server: string;
  seed: string;
  idPrefix: string;
  durationSeconds: number;
  elapsedSeconds: number;
  rounds: number;
  checks: Record<CheckStatus, number>;
  /** Unexpected failures (not network), by message. */
  errors: { message: string; count: number }[];
  cache: { hits: number; misses: number };
}

/** The figures a round can change, or undefined while an install or a report is still in flight (never settled). */
const settledFigures = (t: FleetTally): string | undefined =>
  t.inProgress > 0 || t.pendingReports > 0 ? undefined : JSON.stringify([t.offersSeen, t.applied, t.failed, t.rejected, t.declined]);

/**
 * `ota fleet simulate`: N in-process reference agents against a real server,
 * relying on nothing beyond the protocol (HTTP API and signed documents).
 * Enroll → polling rounds until the duration is up → drain the report
 * queues → the devices' own tally.
 */
export async function simulateFleet(o: FleetOptions): Promise<FleetResult> {
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const deadline = t0 + o.durationSeconds * 1000;
  const stopped = (): boolean => performance.now() >= deadline || o.signal?.aborted === true;
  const net = cuttableFetch(o.fetch ?? globalThis.fetch);
  net.cutAt(deadline + GRACE_MS);
  // The devices' pauses listen on the simulation's own signal, not the caller's (one listener each).
  const wake = manyListeners(new AbortController());
  if (o.signal?.aborted) wake.abort();
  const onAbort = (): void => {
    wake.abort();
    net.cutAt(performance.now() + GRACE_MS);
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const cache = new VerifyCache();
  const checks: Record<CheckStatus, number> = { ok: 0, not_modified: 0, offline: 0, rate_limited: 0, error: 0, exception: 0 };
  const errors = new Map<string, number>();
  let phase: FleetPhase = 'enrolling';
  let round = 0;

  const devices = Array.from({ length: o.devices }, (_, i): SimDevice | SimDdiDevice | SimMenderDevice => {
    const id = `${o.idPrefix}-${i}`;
    if (o.protocol === 'ddi') {
      return new SimDdiDevice({ id, seed: o.seed, baseUrl: o.server, ...(o.tenant !== undefined ? { tenant: o.tenant } : {}), model: o.model, version: o.version, failRate: o.failRate, offlineRate: o.offlineRate, fetch: net.fetch });
    }
    if (o.protocol === 'mender') {
      return new SimMenderDevice({ id, seed: o.seed, baseUrl: o.server, model: o.model, version: o.version, failRate: o.failRate, offlineRate: o.offlineRate, fetch: net.fetch });
    }
    return new SimDevice({
      id,
      seed: o.seed,
      baseUrl: o.server,
      model: o.model,
      version: o.version,
      pinnedRoot: o.pinnedRoot,
      factorySettings: o.factorySettings,
      ...(chance(o.userOptinRate, o.seed, id, 'opt-in') ? { optIn: o.optIn } : {}),
      failRate: o.failRate,
      offlineRate: o.offlineRate,
      cache,
      fetch: net.fetch,
    });
  });

  /** The quick tally (progress) trusts each device's last count of pending reports; the full one reads its state. */
  const tally = (full: boolean): FleetTally =>
    tallyFleet(devices.map((d) => {
      const state = full ? d.snapshot() : undefined;
      return {
        enrolled: d.enrolled,
        ...(d.enrollError !== undefined ? { enrollError: d.enrollError } : {}),
        optedIn: d.optedIn,
        offered: d.offered,
        ledger: d.ledger,
        pendingReports: state ? state.queue.length : d.pendingReports,
        refusedReports: state ? state.refused.length : 0,
        ...(state ? { settings: state.settings } : {}),
      };
    }));

  const progress = (): FleetProgress => {
    const t = tally(false);
    const total = Object.values(checks).reduce((a, b) => a + b, 0);
    return {
      phase, elapsedSeconds: elapsed(), durationSeconds: o.durationSeconds, round, devices: o.devices, enrolled: t.enrolled, enrollFailed: t.enrollFailed,
      checks: total, offline: checks.offline, applied: t.applied, failed: t.failed, rejected: t.rejected, inProgress: t.inProgress, pendingReports: t.pendingReports,
    };
  };
  const emit = (): void => o.onProgress?.(progress());
  const timer = o.onProgress ? setInterval(emit, o.progressIntervalMs ?? 1000) : undefined;
  timer?.unref();

  const noteError = (e: unknown): void => {
    const m = messageOf(e).slice(0, 200);
    errors.set(m, (errors.get(m) ?? 0) + 1);
  };

  async function enroll(d: SimDevice | SimDdiDevice | SimMenderDevice): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await d.enroll(o.enrollToken);
        return;
      } catch (e) {
        const retryable = (e instanceof EnrollmentError && (e.status === 429 || e.status >= 500)) || e instanceof TransportError;
        if (retryable && attempt < 8 && !stopped()) {
          await pause(Math.min(backoffDelay(attempt, { firstMs: 250, maxMs: 10_000 }), deadline - performance.now()), wake.signal);
          continue;
        }
        d.enrollError = e instanceof EnrollmentError ? `${e.status}${e.code ? ` ${e.code}` : ''}` : e instanceof TransportError ? 'network' : 'error';
        d.enrollMessage = messageOf(e);
        if (!(e instanceof EnrollmentError) && !(e instanceof TransportError)) noteError(e);
        return;
      }
    }
  }

  try {
    emit();
    await runPool(devices, o.concurrency, stopped, enroll);
    const enrolled = devices.filter((d) => d.enrolled);

    phase = 'polling';
    emit();
    let before: string | undefined;
    while (!stopped() && enrolled.length > 0) {
      round += 1;
      const started = performance.now();
      await runPool(enrolled, o.concurrency, stopped, async (d) => {
        try {
          checks[(await d.check(round)).status] += 1;
        } catch (e) {
          checks.exception += 1;
          noteError(e);
        }
      });
      if (o.untilSettled && enrolled.length === devices.length) {
        const figures = settledFigures(tally(true));
        if (figures !== undefined && figures === before) break;
        before = figures;
      }
      await pause(Math.min(started + o.intervalSeconds * 1000, deadline) - performance.now(), wake.signal);
    }

    // The duration is over: every device comes back online to deliver its queued reports.
    phase = 'draining';
    emit();
    const drainUntil = performance.now() + o.drainSeconds * 1000;
    net.reset();
    net.cutAt(drainUntil + GRACE_MS);
    for (let attempt = 0; performance.now() < drainUntil; attempt++) {
      const waiting = enrolled.filter((d) => d.pendingReports > 0 || (d.snapshot()?.queue.length ?? 0) > 0);
      if (waiting.length === 0) break;
      if (attempt > 0) await pause(Math.min(500, drainUntil - performance.now()));
      await runPool(waiting, o.concurrency, () => performance.now() >= drainUntil, async (d) => {
        try {
          await d.drain();
        } catch (e) {
          noteError(e);
        }
      });
    }
  } finally {
    if (timer) clearInterval(timer);
    net.cutAt(performance.now());
    o.signal?.removeEventListener('abort', onAbort);
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
    cache: { hits: cache.hits, misses: cache.misses },
    ...tally(true),
  };
}
