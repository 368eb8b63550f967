import type { ReleaseSigned } from '../../protocol/release-manifest.js';
import { toTimestamp } from '../../protocol/trust/time.js';
import { settle, type AgentState } from './agent-state.js';
import { DownloadError, type ArtifactDownloader, type Installer } from './ports.js';
import { reason, reportErrorOf, type RejectReason } from './reasons.js';
import type { AgentReport, Reporter, ReportState } from './reporter.js';
import type { SettingsStore } from './settings-store.js';
import type { LogVerdict } from './log-client.js';
import { offerIds, type VerifyResult } from './verify-offer.js';

/** What runOffer needs from the agent that owns it. */
export interface AgentRuntime {
  state: AgentState;
  reporter: Reporter;
  settings: SettingsStore;
  downloader: ArtifactDownloader;
  installer: Installer;
  /** verifyOffer with the current state and clock; records what it observed. */
  verify(offer: unknown): VerifyResult;
  /**
   * protocol §8: whether the offer is proven logged, fetching a consistency
   * proof when needed; keeps the newer checkpoint. Throws TransportError
   * when the proof cannot be fetched now.
   */
  checkLog(offer: unknown): Promise<LogVerdict>;
  /** The agent's monotone notion of now. */
  now(): Date;
  save(): Promise<void>;
}

export interface OfferOutcome {
  releaseId?: string;
  rolloutId?: string;
  /** skipped: already settled; interrupted: try again on the next check. */
  /** waiting: outside the stage's maintenance window (`installAfter`, protocol §7); tried again on a later check. */
  result: 'applied' | 'failed' | 'rejected' | 'skipped' | 'interrupted' | 'waiting';
  reasons?: RejectReason[];
  message?: string;
  /** An image was installed: the installed version changed. */
  installed?: boolean;
}

const ORDER: Record<string, number> = { received: 1, downloading: 2, downloaded: 3, installing: 4 };
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 1024);

type Ids = { releaseId: string; rolloutId: string };

function report(rt: AgentRuntime, ids: Ids, state: ReportState, extra: Partial<AgentReport> = {}): void {
  rt.reporter.enqueue({ releaseId: ids.releaseId, rolloutId: ids.rolloutId, state, at: toTimestamp(rt.now()), ...extra });
}

/** A progress state, reported once per offer even across restarts. */
async function progress(rt: AgentRuntime, ids: Ids, state: ReportState): Promise<void> {
  const f = rt.state.inFlight;
  if (f && f.rolloutId === ids.rolloutId && f.releaseId === ids.releaseId && (ORDER[f.state] ?? 0) >= (ORDER[state] ?? 0)) return;
  report(rt, ids, state);
  rt.state.inFlight = { ...ids, state };
  await rt.save();
}

async function reject(rt: AgentRuntime, ids: Partial<Ids>, reasons: RejectReason[]): Promise<OfferOutcome> {
  if (ids.releaseId && ids.rolloutId) {
    report(rt, ids as Ids, 'rejected', { error: reportErrorOf(reasons) });
    settle(rt.state, ids.rolloutId, { releaseId: ids.releaseId, outcome: 'rejected' });
  }
  await rt.save();
  return { ...ids, result: 'rejected', reasons };
}

async function fetchArtifact(rt: AgentRuntime, r: ReleaseSigned): Promise<string | RejectReason> {
  try {
    return await rt.downloader.download(r, rt.state.partial, (p) => {
      rt.state.partial = p;
    });
  } catch (e) {
    if (e instanceof DownloadError && e.code === 'artifact_mismatch') {
      delete rt.state.partial;
      return reason('artifact_mismatch', e.message);
    }
    throw e;
  }
}

/** The offer's `installAfter` (protocol §7) as epoch ms; undefined when absent or not a real instant. */
function installAfterOf(offer: unknown): number | undefined {
  const raw = (offer as { installAfter?: unknown } | null)?.installAfter;
  if (typeof raw !== 'string') return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * One offer through protocol §4–§8: verify, then check it is logged (refuse
 * with a `rejected` report and install nothing), then received → downloading → downloaded →
 * installing → applied, or failed when the installer throws.
 */
export async function runOffer(rt: AgentRuntime, offer: unknown): Promise<OfferOutcome> {
  const raw = offerIds(offer);
  if (raw.rolloutId && Object.hasOwn(rt.state.settled, raw.rolloutId)) return { ...raw, result: 'skipped' };
  const v = rt.verify(offer);
  if (!v.ok) return reject(rt, v.ids, v.reasons);
  const ids = v.ids;
  const logged = await rt.checkLog(offer);
  if (!logged.logged) {
    // Not yet cosigned by enough witnesses: neither refused nor reported, tried again on a later check.
    if ('wait' in logged) return { ...ids, result: 'interrupted', message: logged.wait };
    return reject(rt, ids, logged.reasons);
  }
  // protocol §7 maintenance windows: nothing starts (not even `received`, so no report clock runs) before installAfter.
  const after = installAfterOf(offer);
  if (after !== undefined && rt.now().getTime() < after && !rt.state.inFlight) {
    return { ...ids, result: 'waiting', message: `outside the maintenance window: installs may start at ${new Date(after).toISOString()}` };
  }
  const r = v.release.signed;
  await progress(rt, ids, 'received');

  let path: string | undefined;
  if (r.artifact) {
    await progress(rt, ids, 'downloading');
    try {
      const got = await fetchArtifact(rt, r);
      if (typeof got !== 'string') return reject(rt, ids, [got]);
      path = got;
    } catch (e) {
      await rt.save();
      return { ...ids, result: 'interrupted', message: messageOf(e) };
    }
    await progress(rt, ids, 'downloaded');
  }

  // protocol §6: apply only while the statement is still valid (time passed while downloading).
  const again = rt.verify(offer);
  if (!again.ok) {
    const onlyExpired = again.reasons.every((x) => x.code === 'statement_expired');
    if (onlyExpired) return { ...ids, result: 'interrupted', message: 'statement expired while downloading; waiting for a fresh one' };
    return reject(rt, ids, again.reasons);
  }

  await progress(rt, ids, 'installing');
  if (path !== undefined) {
    try {
      await rt.installer(path, r);
    } catch (e) {
      report(rt, ids, 'failed', { error: { code: 'install_failed', message: messageOf(e) } });
      settle(rt.state, ids.rolloutId, { releaseId: ids.releaseId, outcome: 'failed' });
      await rt.save();
      return { ...ids, result: 'failed', message: messageOf(e) };
    }
  }

  // Applied: the image (if any), then the release's own settings; nothing else moves.
  const st = rt.state;
  if (r.artifact && r.version !== undefined) {
    st.installedVersion = r.version;
    delete st.partial;
  } else {
    st.settingsOnly.applied.push(r.id);
    if (st.settingsOnly.newestIssuedAt === undefined || Date.parse(r.issuedAt) > Date.parse(st.settingsOnly.newestIssuedAt)) st.settingsOnly.newestIssuedAt = r.issuedAt;
  }
  const settings = rt.settings.applyRelease(r.settings);
  report(rt, ids, 'applied', { version: st.installedVersion, ...(r.settings.length ? { settings } : {}) });
  settle(st, ids.rolloutId, { releaseId: ids.releaseId, outcome: 'applied' });
  await rt.save();
  if (path !== undefined) await rt.downloader.discard(path).catch(() => undefined);
  return { ...ids, result: 'applied', installed: r.artifact !== undefined };
}
