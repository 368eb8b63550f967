import type { FailureFigures } from '../protocol/report-rules.js';

/** protocol §5 auto-halt, a rollout rule (health-service.ts applies it): enough terminal reports and failures / terminal > max/10000 (integer maths). */
export const shouldHalt = (f: Pick<FailureFigures, 'terminal' | 'failures'>, policy: { maxFailureBasisPoints: number; minTerminalReports: number }): boolean =>
  f.terminal >= policy.minTerminalReports && f.failures * 10000 > policy.maxFailureBasisPoints * f.terminal;
