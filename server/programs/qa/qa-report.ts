import type { QaReport } from './qa-verify.js';
import { stageWords } from '../cli/rollout-spec.js';

/** The report as text: one line per check (PASS/FAIL/SKIP, name, reason), its details indented, a summary last. */
export function reportLines(r: QaReport): string[] {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [`qa verify: rollout ${r.rolloutId} (release ${r.releaseId}, ${r.state}, ${stageWords(r.stage)}) on ${r.server}`];
  for (const c of r.checks) {
    lines.push(`${c.verdict} ${c.name.padEnd(width)}  ${c.message}`);
    for (const d of c.details ?? []) lines.push(`     ${' '.repeat(width)}  - ${d}`);
  }
  lines.push(
    `summary: ${r.checks.length} checks, ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped; ` +
      `${r.devicesSampled} of ${r.devicesListed} devices sampled (seed ${r.seed}) → ${r.ok ? 'PASS' : 'FAIL'}`,
  );
  return lines;
}
