import artifactPruneResult from '../../manifests/schema/api/responses/artifact-prune-result.schema.json' with { type: 'json' };
import releaseWithdrawn from '../../manifests/schema/api/responses/release-withdrawn.schema.json' with { type: 'json' };
import updateCancelled from '../../manifests/schema/api/responses/update-cancelled.schema.json' with { type: 'json' };
import admissionRejected from '../../manifests/schema/api/responses/admission-rejected.schema.json' with { type: 'json' };
import admissionPage from '../../manifests/schema/api/responses/admission-page.schema.json' with { type: 'json' };
import admissionRequest from '../../manifests/schema/api/responses/admission-request.schema.json' with { type: 'json' };
import menderDeployment from '../../manifests/schema/api/responses/mender-deployment.schema.json' with { type: 'json' };
import artifactPage from '../../manifests/schema/api/responses/artifact-page.schema.json' with { type: 'json' };
import artifactStored from '../../manifests/schema/api/responses/artifact-stored.schema.json' with { type: 'json' };
import auditPage from '../../manifests/schema/api/responses/audit-page.schema.json' with { type: 'json' };
import cohortList from '../../manifests/schema/api/responses/cohort-list.schema.json' with { type: 'json' };
import cohortPage from '../../manifests/schema/api/responses/cohort-page.schema.json' with { type: 'json' };
import cohortView from '../../manifests/schema/api/responses/cohort-view.schema.json' with { type: 'json' };
import cosignatureAccepted from '../../manifests/schema/api/responses/cosignature-accepted.schema.json' with { type: 'json' };
import deviceDetail from '../../manifests/schema/api/responses/device-detail.schema.json' with { type: 'json' };
import devicePage from '../../manifests/schema/api/responses/device-page.schema.json' with { type: 'json' };
import enrolled from '../../manifests/schema/api/responses/enrolled.schema.json' with { type: 'json' };
import errorBody from '../../manifests/schema/api/responses/error-body.schema.json' with { type: 'json' };
import health from '../../manifests/schema/api/responses/health.schema.json' with { type: 'json' };
import logConsistencyProof from '../../manifests/schema/api/responses/log-consistency-proof.schema.json' with { type: 'json' };
import logEntries from '../../manifests/schema/api/responses/log-entries.schema.json' with { type: 'json' };
import logInclusionProof from '../../manifests/schema/api/responses/log-inclusion-proof.schema.json' with { type: 'json' };
import ddiBasePoll from '../../manifests/schema/api/responses/ddi-base-poll.schema.json' with { type: 'json' };
import ddiCancelAction from '../../manifests/schema/api/responses/ddi-cancel-action.schema.json' with { type: 'json' };
import ddiDeploymentBase from '../../manifests/schema/api/responses/ddi-deployment-base.schema.json' with { type: 'json' };
import pollAnswer from '../../manifests/schema/api/responses/poll-answer.schema.json' with { type: 'json' };
import releasePage from '../../manifests/schema/api/responses/release-page.schema.json' with { type: 'json' };
import releaseView from '../../manifests/schema/api/responses/release-view.schema.json' with { type: 'json' };
import reportResult from '../../manifests/schema/api/responses/report-result.schema.json' with { type: 'json' };
import rolloutDevices from '../../manifests/schema/api/responses/rollout-devices.schema.json' with { type: 'json' };
import rolloutPage from '../../manifests/schema/api/responses/rollout-page.schema.json' with { type: 'json' };
import rolloutStatus from '../../manifests/schema/api/responses/rollout-status.schema.json' with { type: 'json' };
import rolloutTimeline from '../../manifests/schema/api/responses/rollout-timeline.schema.json' with { type: 'json' };
import rolloutView from '../../manifests/schema/api/responses/rollout-view.schema.json' with { type: 'json' };
import tokenCreated from '../../manifests/schema/api/responses/token-created.schema.json' with { type: 'json' };
import tokenInfo from '../../manifests/schema/api/responses/token-info.schema.json' with { type: 'json' };
import tokenPage from '../../manifests/schema/api/responses/token-page.schema.json' with { type: 'json' };
import whoami from '../../manifests/schema/api/responses/whoami.schema.json' with { type: 'json' };
import cohort from '../../manifests/schema/api/cohort.schema.json' with { type: 'json' };
import report from '../../manifests/schema/api/report.schema.json' with { type: 'json' };
import rolloutCreate from '../../manifests/schema/api/rollout-create.schema.json' with { type: 'json' };
import tokenCreate from '../../manifests/schema/api/token-create.schema.json' with { type: 'json' };
import release from '../../manifests/schema/release.schema.json' with { type: 'json' };
import root from '../../manifests/schema/root.schema.json' with { type: 'json' };
import rolloutStatement from '../../manifests/schema/rollout-statement.schema.json' with { type: 'json' };
import settingsPolicy from '../../manifests/schema/settings-policy.schema.json' with { type: 'json' };
import withdrawal from '../../manifests/schema/withdrawal.schema.json' with { type: 'json' };

/**
 * The JSON bodies the API answers with (protocol §7, §8), one schema file
 * each under manifests/schema/api/responses/, beside the request schemas.
 * The route table (openapi/api-routes.ts) names them per status, the
 * OpenAPI document bundles them, the TypeScript types clients use are
 * generated from them (npm run gen:api), and the route tests validate real
 * answers against them. The server never validates its own answers at run
 * time: the poll and report bodies are built as strings for speed.
 */
export const RESPONSE_SCHEMAS = {
  admissionPage,
  admissionRejected,
  admissionRequest,
  menderDeployment,
  artifactPage,
  artifactPruneResult,
  releaseWithdrawn,
  updateCancelled,
  artifactStored,
  auditPage,
  cohortList,
  cohortPage,
  cohortView,
  cosignatureAccepted,
  ddiBasePoll,
  ddiCancelAction,
  ddiDeploymentBase,
  deviceDetail,
  devicePage,
  enrolled,
  errorBody,
  health,
  logConsistencyProof,
  logEntries,
  logInclusionProof,
  pollAnswer,
  releasePage,
  releaseView,
  reportResult,
  rolloutDevices,
  rolloutPage,
  rolloutStatus,
  rolloutTimeline,
  rolloutView,
  tokenCreated,
  tokenInfo,
  tokenPage,
  whoami,
};

/**
 * Everything a response schema refers to, itself included: the refs to pass
 * to compileValidator (schema/validator.ts) to check an answer with it.
 */
export const RESPONSE_REFS: object[] = [release, root, rolloutStatement, settingsPolicy, withdrawal, cohort, report, rolloutCreate, tokenCreate, ...Object.values(RESPONSE_SCHEMAS)];
