import withdrawalSchema from '../../manifests/schema/withdrawal.schema.json' with { type: 'json' };
import { AppError } from '../errors.js';
import { compileValidator } from '../schema/validator.js';
import type { Envelope } from '../protocol/crypto/envelope.js';

/** protocol §7 fleet lifecycle: the online role's signed statement that a release is withdrawn (§8: its own log entry). */
export interface WithdrawalSigned {
  type: 'withdrawal';
  releaseId: string;
  /** Binds the withdrawal to the exact manifest (protocol §4 manifestSha256). */
  manifestSha256: string;
  reason: string;
  issuedAt: string;
}

export type WithdrawalEnvelope = Envelope<WithdrawalSigned>;

const validateShape = compileValidator<WithdrawalEnvelope>(withdrawalSchema, 'withdrawal statement');

/**
 * protocol §7/§8: a withdrawal statement envelope checked against
 * manifests/schema/withdrawal.schema.json, its issuedAt a real instant.
 * Signatures are the caller's to verify, by the online role.
 */
export function parseWithdrawal(value: unknown): WithdrawalEnvelope {
  const w = validateShape(value);
  if (Number.isNaN(Date.parse(w.signed.issuedAt))) {
    throw new AppError('validation_failed', 'withdrawal statement is not valid', { details: [{ path: '/signed/issuedAt', message: 'is not a real RFC 3339 instant' }] });
  }
  return w;
}
