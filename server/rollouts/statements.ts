import { signEnvelope } from '../protocol/crypto/envelope.js';
import type { Signer } from '../protocol/crypto/signer.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { RolloutStatementSigned } from '../protocol/rollout-statement.js';
import type { Rollout } from './rollout.js';
import type { StoredStatement } from './rollout-store.js';

/** Stages whose statements exist: every stage reached (all of them once completed). */
export const reachedStages = (r: Pick<Rollout, 'state' | 'currentStage' | 'stages'>): number =>
  r.state === 'completed' ? r.stages.length : r.state === 'draft' ? 0 : r.currentStage + 1;

/**
 * protocol §6: one statement per stage reached, all carrying the rollout's
 * current statement version, signed by the online key, short-lived.
 */
export function signStatements(r: Rollout, manifestSha256: string, signer: Signer, now: Date, ttlSeconds: number): StoredStatement[] {
  const expiresMs = now.getTime() + ttlSeconds * 1000;
  const issuedAt = toTimestamp(now);
  const expires = toTimestamp(new Date(expiresMs));
  const out: StoredStatement[] = [];
  for (let stage = 0; stage < reachedStages(r); stage++) {
    const s = r.stages[stage] as Rollout['stages'][number];
    const signed: RolloutStatementSigned = {
      type: 'rollout',
      rolloutId: r.id,
      releaseId: r.releaseId,
      manifestSha256,
      stage,
      cohort: s.cohort,
      basisPoints: s.basisPoints,
      salt: r.salt,
      version: r.statementVersion,
      issuedAt,
      expires,
    };
    out.push({ stage, version: r.statementVersion, expires: Date.parse(expires), envelopeJson: JSON.stringify(signEnvelope({ signed }, [signer])) });
  }
  return out;
}
