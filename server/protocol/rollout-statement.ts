/** protocol §6: the signed body of a rollout statement. */
export interface RolloutStatementSigned {
  type: 'rollout';
  rolloutId: string;
  releaseId: string;
  manifestSha256: string;
  stage: number;
  cohort: string;
  basisPoints: number;
  salt: string;
  version: number;
  issuedAt: string;
  expires: string;
}
