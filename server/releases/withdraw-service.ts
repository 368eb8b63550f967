import type { AuditStore } from '../audit/audit-store.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import { signEnvelope } from '../protocol/crypto/envelope.js';
import { ed25519Signer } from '../protocol/crypto/signer.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { LiveRollouts } from '../rollouts/live-rollouts.js';
import type { TransparencyLog } from '../transparency/transparency-log.js';
import type { TrustState } from '../trust/trust-state.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { ReleaseStore, StoredRelease } from './release-store.js';
import type { WithdrawalEnvelope, WithdrawalSigned } from './withdrawal-statement.js';

export interface WithdrawDeps {
  sql: Sql;
  releases: Pick<ReleaseStore, 'get' | 'setWithdrawal'>;
  log: Pick<TransparencyLog, 'append'>;
  audit: Pick<AuditStore, 'append'>;
  trust: Pick<TrustState, 'current'>;
  live: Pick<LiveRollouts, 'refresh'>;
  changes: Pick<ChangeFeed, 'publish'>;
  now: () => Date;
}

export interface Withdrawal {
  releaseId: string;
  withdrawal: WithdrawalEnvelope;
  /** The statement's index in the transparency log. */
  logIndex: number;
  /** False when the release was already withdrawn (the earlier statement is answered). */
  created: boolean;
}

/** What a rollout or release view shows of a withdrawal (null while the release may be offered). */
export function withdrawalSummary(r: Pick<StoredRelease, 'withdrawalJson'> | undefined): { at: string; reason: string } | null {
  if (!r?.withdrawalJson) return null;
  const { signed } = JSON.parse(r.withdrawalJson) as WithdrawalEnvelope;
  return { at: signed.issuedAt, reason: signed.reason };
}

/**
 * protocol §7 `POST /v1/releases/{id}/withdraw { reason }`: no rollout
 * offers the release any more — the live view every poll reads drops its
 * rollouts on every node (§9), so polls stop carrying it and, no longer
 * re-signed, the statements devices hold run out (§6) — and the online key
 * signs a withdrawal statement that becomes its own transparency-log entry
 * (§8), so auditors see when and why. Idempotent: withdrawing again answers
 * the first statement and changes nothing.
 */
export async function withdrawRelease(id: string, reason: string, actor: string, deps: WithdrawDeps): Promise<Withdrawal> {
  const now = deps.now();
  const outcome = await deps.sql.transaction(async () => {
    // The log and the audit chain stay single, linear histories (protocol §9).
    await holdUntilCommit(deps.sql, ADVISORY_LOCK.history);
    const release = await deps.releases.get(id);
    if (!release) throw new AppError('not_found', `no release ${id}`);
    if (release.withdrawalJson) {
      const withdrawal = JSON.parse(release.withdrawalJson) as WithdrawalEnvelope;
      return { withdrawal, logIndex: await deps.log.append(withdrawal, withdrawal.signed.issuedAt), created: false };
    }
    const signed: WithdrawalSigned = { type: 'withdrawal', releaseId: id, manifestSha256: release.manifestSha256, reason, issuedAt: toTimestamp(now) };
    const withdrawal = signEnvelope({ signed }, [ed25519Signer(deps.trust.current().onlineKey)]);
    const logIndex = await deps.log.append(withdrawal, signed.issuedAt);
    await deps.releases.setWithdrawal(id, JSON.stringify(withdrawal));
    await deps.audit.append({ actor, action: 'release.withdraw', subject: id, details: { reason, manifestSha256: release.manifestSha256, logIndex } }, signed.issuedAt);
    // Every node's live view re-reads releases and the log on this topic.
    await deps.changes.publish('log');
    return { withdrawal, logIndex, created: true };
  });
  await deps.live.refresh();
  return { releaseId: id, ...outcome };
}
