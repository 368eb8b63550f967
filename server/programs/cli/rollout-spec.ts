import { SLUG_RE } from '../../http/params.js';
import { percentText } from '../../lib/percent.js';
import type { RolloutDraft } from '../../rollouts/rollout-service.js';
import { CliError } from './io.js';

export type StageDraft = RolloutDraft['stages'][number];

/** The schema's bound on minDwellSeconds (manifests/schema/api/rollout-create.schema.json). */
const MAX_DWELL_SECONDS = 31_536_000;

/**
 * A percentage as basis points (protocol §5: 0..10000), converted exactly
 * from its decimal text, never through floating point: "0.5" → 50,
 * "12.34" → 1234, "100%" → 10000. A third decimal has no basis point to
 * land on, so it is refused rather than rounded.
 */
export function parsePercent(raw: string, what: string): number {
  const m = /^([0-9]{1,3})(?:\.([0-9]+))?%?$/.exec(raw.trim());
  if (!m) throw new CliError(`${what} must be a number from 0 to 100 such as 10 or 0.5 (percent), got "${raw}"`);
  const whole = m[1] as string;
  const fraction = m[2] ?? '';
  if (fraction.length > 2) throw new CliError(`${what} has more than 2 decimals ("${raw}"): the finest step is 0.01% (1 basis point)`);
  const basisPoints = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (basisPoints > 10_000) throw new CliError(`${what} must be at most 100, got "${raw}"`);
  return basisPoints;
}

/** Basis points as people read them everywhere: two decimals, exact (server/lib/percent.ts). */
export const formatPercent = percentText;

/**
 * A stage as people read it: numbered from 1, as `ota rollout status` and
 * the dashboard number them, with the 0-based index that the API, the
 * statements (protocol §6 `stage`) and the audit details carry, so either
 * can be looked up: 1 → "stage 2 (index 1)".
 */
export const stageWords = (index: number): string => `stage ${index + 1} (index ${index})`;

/** `COHORT:PERCENT[:DWELL_SECONDS[:auto]]`, e.g. `qa:100`, `all:0.5:3600`, `all:10:86400:auto`. */
export function parseStageSpec(raw: string): StageDraft {
  const usage = `--stage must be COHORT:PERCENT[:DWELL_SECONDS[:auto]] such as all:10:86400:auto, got "${raw}"`;
  const parts = raw.split(':');
  if (parts.length < 2 || parts.length > 4) throw new CliError(usage);
  const [cohort, percent, dwell, auto] = parts as [string, string, string | undefined, string | undefined];
  if (!SLUG_RE.test(cohort)) throw new CliError(`--stage "${raw}": "${cohort}" is not a cohort name (${SLUG_RE.source})`);
  const stage: StageDraft = { cohort, basisPoints: parsePercent(percent, `the percentage in --stage "${raw}"`) };
  if (dwell !== undefined && dwell !== '') {
    const seconds = /^[0-9]{1,9}$/.test(dwell) ? Number(dwell) : NaN;
    if (!(seconds <= MAX_DWELL_SECONDS)) throw new CliError(`--stage "${raw}": the dwell must be whole seconds from 0 to ${MAX_DWELL_SECONDS}, got "${dwell}"`);
    stage.minDwellSeconds = seconds;
  }
  if (auto !== undefined) {
    if (auto !== 'auto') throw new CliError(`--stage "${raw}": the last field can only be "auto" (advance by itself after the dwell), got "${auto}"`);
    stage.autoAdvance = true;
  }
  return stage;
}
