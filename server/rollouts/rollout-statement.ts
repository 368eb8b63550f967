import statementSchema from '../../manifests/schema/rollout-statement.schema.json' with { type: 'json' };
import type { Envelope } from '../protocol/crypto/envelope.js';
import { AppError, type ErrorDetail } from '../errors.js';
import { compileValidator } from '../schema/validator.js';
import type { RolloutStatementSigned } from '../protocol/rollout-statement.js';

export type RolloutStatementEnvelope = Envelope<RolloutStatementSigned>;

const validateShape = compileValidator<RolloutStatementEnvelope>(statementSchema, 'rollout statement');

/**
 * protocol §6: a rollout statement envelope checked against
 * manifests/schema/rollout-statement.schema.json (unknown keys refused),
 * then its timestamps as real calendar instants (the schema's pattern would
 * let 2026-13-45 through). Throws `validation_failed` naming every problem;
 * signatures are the caller's to verify, by the online role.
 */
export function parseRolloutStatement(value: unknown): RolloutStatementEnvelope {
  const statement = validateShape(value);
  const problems: ErrorDetail[] = (['issuedAt', 'expires'] as const)
    .filter((k) => Number.isNaN(Date.parse(statement.signed[k])))
    .map((k) => ({ path: `/signed/${k}`, message: 'is not a real RFC 3339 instant' }));
  if (problems.length) throw new AppError('validation_failed', 'rollout statement is not valid', { details: problems });
  return statement;
}
