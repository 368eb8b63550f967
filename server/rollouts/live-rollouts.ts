import { serialRefresh } from '../db/view-refresh.js';
import type { ReleaseSigned } from '../protocol/release-manifest.js';
import { rememberedRange } from '../protocol/versions.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { EligibilityInput } from './eligibility.js';
import type { RolloutState } from './rollout-state.js';
import type { RolloutStore } from './rollout-store.js';
import type { MaintenanceWindow } from './maintenance-window.js';
import { reachedStages } from './statements.js';

/** Everything the poll path needs about one serving rollout, prepared once per change. */
export interface LiveRollout extends EligibilityInput {
  id: string;
  state: RolloutState;
  salt: string;
  releaseId: string;
  issuedAt: string;
  /** The signed release (protocol §3: version, mandatory, artifact), parsed once: what gateways translate. */
  release: Readonly<ReleaseSigned>;
  /** The published release envelope, serialised once. */
  releaseJson: string;
  /** The release's `expires` as epoch ms (Infinity when it has none): not offered after it. */
  releaseExpires: number;
  /** The release's artifact digest; undefined for a settings-only release (never offered over DDI, protocol §11). */
  artifactSha256: string | undefined;
  /** The release envelope's index in the transparency log (protocol §8; undefined = not logged, never offered). */
  releaseLogIndex: number | undefined;
  /** protocol §7: each reached stage's maintenance window (undefined: installs may start any time). */
  windows: (MaintenanceWindow | undefined)[];
  /** Signed statement per reached stage, serialised once, with its version and log index. */
  statements: { json: string; version: number; expires: number; logIndex: number | undefined }[];
}

export type LiveRollouts = ReturnType<typeof createLiveRollouts>;

/**
 * The in-memory view of serving rollouts. Rebuilt whole by `refresh()`
 * after every committed change (start, advance, re-sign...) and at start,
 * so a poll signs, serialises and waits for nothing.
 */
/**
 * What the live view needs of the transparency log (protocol §8): a document's
 * index, after catching up with what is committed. Declared here, not imported,
 * so rollouts/ sits below transparency/ (docs/architecture.md, domain order).
 */
export interface LogIndex {
  indexOf(envelopeJson: string): number | undefined;
  refresh(): Promise<void>;
}

export function createLiveRollouts(rollouts: RolloutStore, releases: ReleaseStore, log: LogIndex) {
  let live: LiveRollout[] = [];
  let generation = 0;
  const refresh = serialRefresh(async (): Promise<void> => {
    // Log indexes are read from the log's view: bring it up to what is committed first.
    await log.refresh();
    const next: LiveRollout[] = [];
    for (const r of await rollouts.live()) {
      const stored = await releases.get(r.releaseId);
      // protocol §7: a withdrawn release is offered by no rollout (and, no longer re-signed, its statements run out).
      if (!stored || stored.withdrawalJson) continue;
      const signed = envelopeOf(stored).signed;
      const statements = (await rollouts.statements(r.id)).slice(0, reachedStages(r));
      next.push({
        id: r.id,
        state: r.state,
        salt: r.salt,
        releaseId: r.releaseId,
        issuedAt: signed.issuedAt,
        models: new Set(signed.models),
        appliesTo: rememberedRange(signed.appliesTo),
        stages: r.stages.slice(0, statements.length).map((s) => ({ cohort: s.cohort, basisPoints: s.basisPoints })),
        release: signed,
        windows: r.stages.slice(0, statements.length).map((s) => s.window),
        releaseJson: stored.envelopeJson,
        artifactSha256: signed.artifact?.sha256,
        releaseLogIndex: log.indexOf(stored.envelopeJson),
        releaseExpires: signed.expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(signed.expires),
        statements: statements.map((s) => ({ json: s.envelopeJson, version: s.version, expires: s.expires, logIndex: log.indexOf(s.envelopeJson) })),
      });
    }
    // protocol §5: offers ordered by the release's issuedAt.
    next.sort((a, b) => (a.issuedAt < b.issuedAt ? -1 : a.issuedAt > b.issuedAt ? 1 : a.id < b.id ? -1 : 1));
    live = next;
    generation++;
  });
  return {
    current: (): readonly LiveRollout[] => live,
    /** Changes whenever the live set changes; caches key on it. */
    generation: (): number => generation,
    refresh,
    /** protocol §9: rebuilt after any node commits a rollout change or a log entry (call before the first refresh). */
    follow: (changes: Pick<ChangeFeed, 'subscribe'>): (() => void) =>
      changes.subscribe(async (c) => {
        if (c.topic === 'rollout' || c.topic === 'log') await refresh();
      }),
  };
}
