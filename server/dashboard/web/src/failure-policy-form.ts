import type { RolloutUpdate } from './types.js';

export type FailurePolicy = RolloutUpdate['failurePolicy'];

/** The failure-policy form's fields as typed; the threshold in percent, as the page shows it. */
export interface PolicyFields {
  thresholdPercent: string;
  minTerminalReports: string;
  reportTimeoutSeconds: string;
}

export const fieldsOf = (p: FailurePolicy): PolicyFields => ({
  thresholdPercent: String(p.maxFailureBasisPoints / 100),
  minTerminalReports: String(p.minTerminalReports),
  reportTimeoutSeconds: String(p.reportTimeoutSeconds),
});

const WHOLE = /^[0-9]{1,10}$/;

/**
 * The policy the fields say (protocol §5 units: basis points, reports,
 * seconds), or what is wrong with how they are written. Their bounds are the
 * server's to check (manifests/schema/api/rollout-create.schema.json): a
 * value out of them comes back as its §7 error message.
 */
export function policyOf(f: PolicyFields): { policy: FailurePolicy } | { problem: string } {
  const percent = f.thresholdPercent.trim();
  if (!/^[0-9]{1,3}(\.[0-9]{1,2})?$/.test(percent)) return { problem: 'The failure threshold is a percentage such as 5 or 2.5 (at most two decimals).' };
  const minimum = f.minTerminalReports.trim();
  if (!WHOLE.test(minimum)) return { problem: 'The minimum of terminal reports is a whole number.' };
  const timeout = f.reportTimeoutSeconds.trim();
  if (!WHOLE.test(timeout)) return { problem: 'The report timeout is a whole number of seconds.' };
  return { policy: { maxFailureBasisPoints: Math.round(Number(percent) * 100), minTerminalReports: Number(minimum), reportTimeoutSeconds: Number(timeout) } };
}
