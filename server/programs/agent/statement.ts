import statementSchema from '../../../manifests/schema/rollout-statement.schema.json' with { type: 'json' };
import type { Envelope } from '../../protocol/crypto/envelope.js';
import type { RolloutStatementSigned } from '../../protocol/rollout-statement.js';
import { compileValidator } from '../../schema/validator.js';
import { parseTimestamp } from '../../protocol/trust/time.js';

export type StatementEnvelope = Envelope<RolloutStatementSigned>;

const validateStatementShape = compileValidator<StatementEnvelope>(statementSchema, 'rollout statement');

/** protocol §6: schema, then real calendar instants (throws AppError or RangeError). */
export function parseStatement(value: unknown): StatementEnvelope {
  const statement = validateStatementShape(value);
  parseTimestamp(statement.signed.issuedAt);
  parseTimestamp(statement.signed.expires);
  return statement;
}
