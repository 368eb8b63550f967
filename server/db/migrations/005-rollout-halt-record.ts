import type { Migration } from './index.js';

/**
 * protocol §5 (amended): a halted rollout resumes only with the halt
 * acknowledged, which overrules it on the record. Each rollout keeps its
 * latest halt (who, why, the figures: what a watching command prints) and
 * the overruling resume with the terminal counts at that moment (from
 * which auto-halt judges afresh). JSON, null when it never happened.
 */
export const rolloutHaltRecord: Migration = {
  version: 5,
  name: 'rollout-halt-record',
  sqlite: `
    ALTER TABLE rollouts ADD COLUMN last_halt TEXT;
    ALTER TABLE rollouts ADD COLUMN overruled_halt TEXT;

  `,
  postgres: `
    ALTER TABLE rollouts ADD COLUMN last_halt TEXT;
    ALTER TABLE rollouts ADD COLUMN overruled_halt TEXT;
  `,
};
