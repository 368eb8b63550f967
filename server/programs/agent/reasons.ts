/**
 * Why the agent refuses an offer: a closed union of machine codes, each sent
 * as the `error.code` of a `rejected` report (protocol §7). Documented in
 * README.md; test/agent/reject-codes.test.ts fails when the two disagree.
 */
export const REJECT_CODES = [
  'malformed_offer',
  'root_chain_invalid',
  'root_expired',
  'policy_invalid',
  'policy_unavailable',
  'signature_invalid',
  'threshold_not_met',
  'statement_signature_invalid',
  'manifest_mismatch',
  'statement_expired',
  'statement_replayed',
  'not_in_bucket',
  'model_mismatch',
  'version_not_applicable',
  'release_expired',
  'rollback',
  'already_installed',
  'already_applied',
  'settings_superseded',
  'policy_violation',
  'artifact_mismatch',
  'not_logged',
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];

export interface RejectReason {
  code: RejectCode;
  message: string;
}

export const reason = (code: RejectCode, message: string): RejectReason => ({ code, message });

/** report.schema.json bounds: code ≤ 64 chars, message ≤ 1024 chars. */
export function reportErrorOf(reasons: readonly RejectReason[]): { code: string; message: string } {
  const first = reasons[0];
  const message = reasons.map((r) => `${r.code}: ${r.message}`).join('; ');
  return { code: first ? first.code : 'rejected', message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message };
}
