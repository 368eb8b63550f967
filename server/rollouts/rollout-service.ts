import { randomBytes } from 'node:crypto';
import type { AuditStore } from '../audit/audit-store.js';
import type { CohortStore } from '../cohorts/cohort-store.js';
import { ed25519Signer } from '../protocol/crypto/signer.js';
import type { Sql } from '../db/sql.js';
import { AppError, type ErrorDetail } from '../errors.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import type { TransparencyLog } from '../transparency/transparency-log.js';
import type { TrustState } from '../trust/trust-state.js';
import { isExpired, toTimestamp } from '../protocol/trust/time.js';
import type { LiveRollouts } from './live-rollouts.js';
import type { RolloutEvents, RolloutTransition } from './rollout-events.js';
import type { FailurePolicy, HaltRecord, Rollout, Stage } from './rollout.js';
import { figuresOf, type CounterStore } from './rollout-counters.js';
import { transition, type ActionInput, type RolloutAction } from './rollout-state.js';
import type { RolloutStore } from './rollout-store.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import { signStatements } from './statements.js';
import { windowProblems } from './maintenance-window.js';

export interface RolloutDeps {
  sql: Sql;
  rollouts: RolloutStore;
  releases: ReleaseStore;
  cohorts: CohortStore;
  audit: AuditStore;
  counters: CounterStore;
  live: LiveRollouts;
  log: Pick<TransparencyLog, 'append'>;
  trust: TrustState;
  now: () => Date;
  statementTtlSeconds: number;
  /** After a committed state change (e.g. to recount eligible devices). */
  onChange?: (rolloutId: string) => void;
  /** protocol §9: every committed change to what polls serve reaches every node's live view. */
  changes?: Pick<ChangeFeed, 'publish'>;
  /** Told of every committed creation and transition (metrics, logs, the webhooks' wake-up). */
  events?: RolloutEvents;
  /** Writes every creation and transition in its own transaction (the webhook outbox, issue 18). */
  outbox?: { record(t: RolloutTransition): Promise<void> };
}

export interface RolloutDraft {
  id?: string;
  /** protocol §7: start by itself at this time. */
  startAt?: string;
  releaseId: string;
  stages: (Pick<Stage, 'cohort' | 'basisPoints'> & Partial<Stage>)[];
  failurePolicy: FailurePolicy;
}

/** What an action carries: the acknowledgement and reason that resume a halted rollout (protocol §5). */
export interface ActInput extends ActionInput {
  reason?: string;
}

export type RolloutService = ReturnType<typeof createRolloutService>;

export function createRolloutService(deps: RolloutDeps) {
  const { sql, rollouts, releases, audit, live } = deps;

  const manifestShaOf = async (r: Rollout): Promise<string> => {
    const release = await releases.get(r.releaseId);
    if (!release) throw new AppError('not_found', `release ${r.releaseId} is gone`);
    return release.manifestSha256;
  };

  /**
   * Bumps the statement version and re-signs every reached stage (protocol
   * §6), logging each new statement in the caller's transaction (§8).
   */
  const resign = async (r: Rollout, now: Date): Promise<void> => {
    r.statementVersion += 1;
    const signer = ed25519Signer(deps.trust.current().onlineKey);
    const at = toTimestamp(now);
    for (const s of signStatements(r, await manifestShaOf(r), signer, now, deps.statementTtlSeconds)) {
      await rollouts.saveStatement(r.id, s);
      await deps.log.append(JSON.parse(s.envelopeJson), at);
    }
  };

  return {
    /** A draft (protocol §5: salt random, fixed at creation); `clonedFrom` names the rollout whose settings it copies. */
    async create(draft: RolloutDraft, actor: string, clonedFrom?: string): Promise<Rollout> {
      const problems: ErrorDetail[] = [];
      const release = await releases.get(draft.releaseId);
      if (!release) problems.push({ path: '/releaseId', message: `no release ${draft.releaseId}` });
      draft.stages.forEach((s, i) => {
        if (!deps.cohorts.exists(s.cohort)) problems.push({ path: `/stages/${i}/cohort`, message: `no cohort ${s.cohort}` });
      });
      if (release?.withdrawalJson) problems.push({ path: '/releaseId', message: `release ${draft.releaseId} was withdrawn` });
      const expires = release && envelopeOf(release).signed.expires;
      if (expires && isExpired(expires, deps.now())) problems.push({ path: '/releaseId', message: `release expired at ${expires}` });
      const badWindows: ErrorDetail[] = draft.stages.flatMap((s, i) => (s.window ? windowProblems(s.window).map((message) => ({ path: `/stages/${i}/window`, message })) : []));
      if (badWindows.length) throw new AppError('validation_failed', 'rollout is not valid', { details: badWindows });
      if (problems.length) throw new AppError('unprocessable', 'the rollout cannot be created', { details: problems });
      const id = draft.id ?? `${draft.releaseId.slice(0, 55)}-${randomBytes(4).toString('hex')}`;
      if (await rollouts.get(id)) throw new AppError('conflict', `rollout ${id} already exists`);
      const at = toTimestamp(deps.now());
      const rollout: Rollout = {
        id,
        releaseId: draft.releaseId,
        salt: randomBytes(16).toString('hex'),
        stages: draft.stages.map((s) => ({ cohort: s.cohort, basisPoints: s.basisPoints, minDwellSeconds: s.minDwellSeconds ?? 0, autoAdvance: s.autoAdvance ?? false, ...(s.window ? { window: s.window } : {}) })),
        failurePolicy: draft.failurePolicy,
        state: 'draft',
        currentStage: 0,
        stageStartedAt: null,
        statementVersion: 0,
        createdAt: at,
        createdBy: actor,
        updatedAt: at,
        lastHalt: null,
        overruledHalt: null,
        startAt: draft.startAt ?? null,
      };
      const created: RolloutTransition = { rolloutId: id, releaseId: rollout.releaseId, action: 'create', actor, from: null, to: { state: 'draft', stage: 0 }, at, details: {} };
      await sql.transaction(async () => {
        await rollouts.insert(rollout);
        const origin = clonedFrom === undefined ? {} : { clonedFrom };
        const scheduled = rollout.startAt ? { startAt: rollout.startAt } : {};
        await audit.append({ actor, action: 'rollout.create', subject: id, details: { releaseId: rollout.releaseId, stages: rollout.stages, failurePolicy: rollout.failurePolicy, ...origin, ...scheduled } }, at);
        await deps.outbox?.record(created);
      });
      deps.events?.emit(created);
      return rollout;
    },

    /** A fresh draft with another rollout's release, stages and failure policy, and a new salt (after a halt: start over). */
    async clone(sourceId: string, newId: string | undefined, actor: string): Promise<Rollout> {
      const source = await rollouts.get(sourceId);
      if (!source) throw new AppError('not_found', `no rollout ${sourceId}`);
      const draft: RolloutDraft = { releaseId: source.releaseId, stages: source.stages, failurePolicy: source.failurePolicy };
      return this.create(newId === undefined ? draft : { ...draft, id: newId }, actor, source.id);
    },

    /**
     * Applies one state-machine action, re-signing statements when the
     * served set changes, and records it (with `figures` for automatic
     * actions) in the audit log and its webhook deliveries in the outbox,
     * all in one transaction. A halt is kept on the rollout (lastHalt);
     * resuming a halted rollout needs `input.acknowledgeHalt` and overrules
     * the halt on the record, keeping the terminal counts (protocol §5).
     */
    async act(id: string, action: RolloutAction, actor: string, figures: Record<string, unknown> = {}, input: ActInput = {}): Promise<Rollout> {
      const now = deps.now();
      const { rollout, changed } = await sql.transaction(async () => {
        // protocol §9: actions on any node take turns, each reading the rollout as the last one left it
        // (the audit chain's lock, taken first: cluster/advisory-locks.ts).
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        const r = await rollouts.get(id);
        if (!r) throw new AppError('not_found', `no rollout ${id}`);
        // One serving rollout per release: a device reports against one rolloutId per release it is offered.
        // Read from the store, not this node's live view: another node may have started one a moment ago.
        const rival = action === 'start' ? (await rollouts.live()).find((l) => l.releaseId === r.releaseId && l.id !== r.id) : undefined;
        if (rival) throw new AppError('conflict', `release ${r.releaseId} is already served by rollout ${rival.id}; cancel it first`);
        if (action === 'start' && (await releases.get(r.releaseId))?.withdrawalJson) throw new AppError('conflict', `release ${r.releaseId} was withdrawn: no rollout may offer it`);
        const t = transition({ state: r.state, currentStage: r.currentStage }, action, r.stages.length, input);
        if (!t.ok) throw new AppError('invalid_transition', t.reason);
        const from = { state: r.state, stage: r.currentStage };
        const overruling = action === 'resume' && r.state === 'halted';
        const stageChanged = t.to.currentStage !== r.currentStage || (r.state === 'draft' && t.to.state === 'running');
        r.state = t.to.state;
        r.currentStage = t.to.currentStage;
        // A stage dwells its minimum running: time spent paused does not count towards auto-advance.
        if (stageChanged || action === 'resume') r.stageStartedAt = now.getTime();
        r.updatedAt = toTimestamp(now);
        if (r.state === 'running' || r.state === 'paused' || r.state === 'completed') await resign(r, now);
        const kept = overruling ? await figuresOf(deps.counters, id) : undefined;
        const details: Record<string, unknown> = { from, to: { state: r.state, stage: r.currentStage }, ...figures };
        if (kept) {
          const rateBasisPoints = kept.terminal ? Math.floor((kept.failures * 10000) / kept.terminal) : 0;
          // lastHalt is null only for a rollout halted before halts were kept on it (migration 004).
          const overruled = r.lastHalt && { haltAuditSeq: r.lastHalt.auditSeq, haltedAt: r.lastHalt.at, haltedBy: r.lastHalt.actor, haltReason: r.lastHalt.reason };
          Object.assign(details, { acknowledgeHalt: true, reason: input.reason, overruled, keptFigures: { ...kept, rateBasisPoints } });
        }
        const entry = await audit.append({ actor, action: `rollout.${action}`, subject: id, details }, r.updatedAt);
        if (action === 'halt') r.lastHalt = haltRecordOf(entry.seq, actor, r.updatedAt, figures);
        if (kept) r.overruledHalt = { at: r.updatedAt, actor, reason: input.reason ?? '', auditSeq: entry.seq, terminal: kept.terminal, failures: kept.failures };
        await rollouts.update(r);
        await deps.changes?.publish('rollout', id);
        const change: RolloutTransition = { rolloutId: id, releaseId: r.releaseId, action, actor, from, to: { state: r.state, stage: r.currentStage }, at: r.updatedAt, details: figures };
        await deps.outbox?.record(change);
        return { rollout: r, changed: change };
      });
      await live.refresh();
      deps.onChange?.(id);
      deps.events?.emit(changed);
      return rollout;
    },

    /**
     * protocol §7 `PATCH /v1/rollouts/{id} { failurePolicy }`: a running or
     * paused rollout's thresholds change, on the record (before and after in
     * the audit log). The policy is in no signed statement (§6), so nothing
     * is re-signed and devices see no change; auto-halt judges by the new
     * policy from the next check on.
     */
    async setFailurePolicy(id: string, policy: FailurePolicy, actor: string, reason?: string): Promise<Rollout> {
      const now = deps.now();
      return sql.transaction(async () => {
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        const r = await rollouts.get(id);
        if (!r) throw new AppError('not_found', `no rollout ${id}`);
        if (r.state !== 'running' && r.state !== 'paused') {
          throw new AppError('invalid_transition', `the failure policy of a ${r.state} rollout cannot change (only running or paused ones)`);
        }
        const before = r.failurePolicy;
        r.failurePolicy = policy;
        r.updatedAt = toTimestamp(now);
        await rollouts.setFailurePolicy(id, policy, r.updatedAt);
        await audit.append({ actor, action: 'rollout.failure-policy', subject: id, details: { before, after: policy, ...(reason === undefined ? {} : { reason }) } }, r.updatedAt);
        return r;
      });
    },

    /** Re-signs serving rollouts whose statements pass half their lifetime (protocol §6: before they run out). */
    async resignExpiring(): Promise<number> {
      const now = deps.now();
      const threshold = now.getTime() + (deps.statementTtlSeconds * 1000) / 2;
      const due = live.current().filter((l) => l.statements.some((s) => s.expires <= threshold));
      if (due.length === 0) return 0;
      await sql.transaction(async () => {
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        for (const l of due) {
          const r = await rollouts.get(l.id);
          if (!r) continue;
          await resign(r, now);
          r.updatedAt = toTimestamp(now);
          await rollouts.update(r);
          await deps.changes?.publish('rollout', r.id);
        }
      });
      await live.refresh();
      return due.length;
    },
  };
}

const haltRecordOf = (auditSeq: number, actor: string, at: string, details: Record<string, unknown>): HaltRecord => ({
  at,
  actor,
  auditSeq,
  reason: typeof details.reason === 'string' ? details.reason : null,
  figures: (details.figures as HaltRecord['figures'] | undefined) ?? null,
});
