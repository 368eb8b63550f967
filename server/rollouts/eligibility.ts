import type { DeviceFacts } from '../cohorts/cohort.js';
import type { VersionRange } from '../protocol/versions.js';

export interface EligibilityStage {
  cohort: string;
  basisPoints: number;
}

export interface EligibilityInput {
  models: ReadonlySet<string>;
  appliesTo: VersionRange;
  /** Stages reached so far (0..currentStage). */
  stages: readonly EligibilityStage[];
}

/**
 * protocol §5: eligible when the device's model is in `models`, its
 * installed version satisfies `appliesTo`, and for some reached stage j it
 * is in stage j's cohort with bucket < basisPoints. Returns the earliest
 * such j (whose statement the device is sent, §6), or -1.
 * Raising basisPoints or reaching more stages can only add devices.
 */
export function eligibleStage(
  rollout: EligibilityInput,
  device: DeviceFacts,
  bucket: number,
  inCohort: (cohort: string) => boolean,
): number {
  if (!rollout.models.has(device.model) || !rollout.appliesTo.test(device.version)) return -1;
  for (let j = 0; j < rollout.stages.length; j++) {
    const stage = rollout.stages[j] as EligibilityStage;
    if (bucket < stage.basisPoints && inCohort(stage.cohort)) return j;
  }
  return -1;
}
