import artifactPrune from '../../manifests/schema/api/artifact-prune.schema.json' with { type: 'json' };
import cancelUpdate from '../../manifests/schema/api/cancel-update.schema.json' with { type: 'json' };
import cohortMembers from '../../manifests/schema/api/cohort-members.schema.json' with { type: 'json' };
import cohort from '../../manifests/schema/api/cohort.schema.json' with { type: 'json' };
import cohortUpdate from '../../manifests/schema/api/cohort-update.schema.json' with { type: 'json' };
import enrollment from '../../manifests/schema/api/enrollment.schema.json' with { type: 'json' };
import ddiConfigData from '../../manifests/schema/api/ddi-config-data.schema.json' with { type: 'json' };
import ddiFeedback from '../../manifests/schema/api/ddi-feedback.schema.json' with { type: 'json' };
import report from '../../manifests/schema/api/report.schema.json' with { type: 'json' };
import rolloutAction from '../../manifests/schema/api/rollout-action.schema.json' with { type: 'json' };
import rolloutClone from '../../manifests/schema/api/rollout-clone.schema.json' with { type: 'json' };
import rolloutCreate from '../../manifests/schema/api/rollout-create.schema.json' with { type: 'json' };
import rolloutUpdate from '../../manifests/schema/api/rollout-update.schema.json' with { type: 'json' };
import rolloutResume from '../../manifests/schema/api/rollout-resume.schema.json' with { type: 'json' };
import cosignature from '../../manifests/schema/api/log-cosignature.schema.json' with { type: 'json' };
import tokenCreate from '../../manifests/schema/api/token-create.schema.json' with { type: 'json' };
import deviceAdmission from '../../manifests/schema/api/device-admission.schema.json' with { type: 'json' };
import devicePreauthorization from '../../manifests/schema/api/device-preauthorization.schema.json' with { type: 'json' };
import menderAuthRequest from '../../manifests/schema/api/mender-auth-request.schema.json' with { type: 'json' };
import menderInventory from '../../manifests/schema/api/mender-inventory.schema.json' with { type: 'json' };
import menderLog from '../../manifests/schema/api/mender-log.schema.json' with { type: 'json' };
import menderNext from '../../manifests/schema/api/mender-next.schema.json' with { type: 'json' };
import menderStatus from '../../manifests/schema/api/mender-status.schema.json' with { type: 'json' };
import release from '../../manifests/schema/release.schema.json' with { type: 'json' };
import releaseWithdraw from '../../manifests/schema/api/release-withdraw.schema.json' with { type: 'json' };
import root from '../../manifests/schema/root.schema.json' with { type: 'json' };
import settingsPolicy from '../../manifests/schema/settings-policy.schema.json' with { type: 'json' };
import { READERS } from '../auth/authorize.js';
import { RESPONSE_SCHEMAS as R } from '../schema/response-schemas.js';
import type { OperatorRole } from '../auth/principal.js';
import { ACTION_ROLES } from '../rollouts/rollout-permissions.js';
import type { JsonSchema } from './schema-bundle.js';

/** A response: its description, and what its body is (a schema file, an inline schema, or another media type). */
export interface ApiResponse {
  description: string;
  schema?: JsonSchema;
  /** Default application/json. */
  contentType?: string;
  /** An answer without a body (the DDI gateway's 200s to feedback and configData, as hawkBit answers). */
  empty?: boolean;
}

/**
 * One route of the HTTP API (protocol §7), as the OpenAPI document shows it.
 * Adding a route to the server means adding one entry here:
 * test/openapi/openapi.test.ts fails while a route the server answers is
 * missing from the document.
 */
export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template: `/v1/rollouts/{id}/start`. */
  path: string;
  summary: string;
  /** `public`, `device` (the device's own token), `ddi` (hawkBit TargetToken or GatewayToken, protocol §11), or the operator roles allowed (admin always is). */
  auth: 'public' | 'device' | 'ddi' | readonly OperatorRole[];
  tag: string;
  /** The schema file that validates the body (the same object the route compiles), or raw bytes. */
  body?: JsonSchema | 'binary';
  query?: { name: string; description: string; schema: JsonSchema; required?: boolean }[];
  /** Schemas for path parameters not in PATH_PARAMS (openapi-document.ts). */
  params?: Record<string, JsonSchema>;
  responses: Record<number, string | ApiResponse>;
}

const PAGE = (max: number) => [
  { name: 'limit', description: `page size, 1..${max} (default 100)`, schema: { type: 'integer', minimum: 1, maximum: max } },
  { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string', maxLength: 256 } },
];
const json = (description: string, schema?: JsonSchema): ApiResponse => ({ description, ...(schema ? { schema } : {}) });
const PUBLISH: OperatorRole[] = ['release-manager'];

const rolloutActions: ApiRoute[] = Object.entries(ACTION_ROLES).map(([action, roles]) => ({
  method: 'post',
  path: `/v1/rollouts/{id}/${action}`,
  summary: `${action[0]?.toUpperCase()}${action.slice(1)} the rollout (protocol §5 state machine)`,
  auth: roles,
  tag: 'rollouts',
  // protocol §5: resuming a halted rollout takes { acknowledgeHalt: true, reason }; the others an optional { reason }.
  body: action === 'resume' ? rolloutResume : rolloutAction,
  responses: { 200: json('the rollout after the change, with its statements', R.rolloutView), 409: 'invalid_transition: not allowed from the current state' },
}));

/** Every route the server answers. Path parameters take their schema from PATH_PARAMS (openapi-document.ts). */
export const API_ROUTES: ApiRoute[] = [
  // Public
  { method: 'get', path: '/', summary: 'Sends a browser to the QA dashboard at /ui/ (protocol §7, §10)', auth: 'public', tag: 'operations', responses: { 302: { description: 'redirect to /ui/ (Location header)', empty: true } } },
  { method: 'get', path: '/healthz', summary: 'Liveness, database and trust versions', auth: 'public', tag: 'operations', responses: { 200: json('healthy', R.health), 503: json('degraded: the database is not answering', R.health) } },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document (OpenAPI 3.1)', auth: 'public', tag: 'operations', responses: { 200: 'the OpenAPI document' } },
  { method: 'get', path: '/v1/trust/root', summary: 'The current signed root (protocol §2)', auth: 'public', tag: 'trust', responses: { 200: json('root envelope', root), 304: 'not modified (If-None-Match)' } },
  { method: 'get', path: '/v1/trust/root/{version}', summary: 'A signed root by version, for walking the chain (protocol §2)', auth: 'public', tag: 'trust', responses: { 200: json('root envelope (immutable)', root), 304: 'not modified', 404: 'no such version yet' } },
  { method: 'get', path: '/v1/trust/policy', summary: 'The signed settings policy (protocol §3)', auth: 'public', tag: 'trust', responses: { 200: json('settings policy envelope', settingsPolicy), 304: 'not modified' } },
  {
    method: 'get', path: '/v1/artifacts/{sha256}', summary: 'Artifact bytes, content-addressed, with Range support', auth: 'public', tag: 'artifacts',
    responses: { 200: { description: 'the bytes', contentType: 'application/octet-stream' }, 206: { description: 'the requested range', contentType: 'application/octet-stream' }, 304: 'not modified', 404: 'no such artifact', 416: 'invalid_range' },
  },
  // Transparency log (protocol §8): public, cacheable
  { method: 'get', path: '/v1/log/checkpoint', summary: 'The latest checkpoint: a C2SP signed note by the online key', auth: 'public', tag: 'log', responses: { 200: { description: 'the signed note', contentType: 'text/plain' } } },
  {
    method: 'get', path: '/v1/log/entries', summary: 'Log entries S ≤ i < E (at most 1000 per call)', auth: 'public', tag: 'log',
    query: [{ name: 'start', description: 'first index', schema: { type: 'integer', minimum: 0 }, required: true }, { name: 'end', description: 'one past the last index', schema: { type: 'integer', minimum: 1 }, required: true }],
    responses: { 200: json('the envelopes, exactly as logged', R.logEntries), 400: 'bad_request: outside the log' },
  },
  {
    method: 'get', path: '/v1/log/proof/inclusion', summary: 'RFC 9162 §2.1.3 inclusion proof of entry I in the tree of size N', auth: 'public', tag: 'log',
    query: [{ name: 'index', description: 'I', schema: { type: 'integer', minimum: 0 }, required: true }, { name: 'size', description: 'N', schema: { type: 'integer', minimum: 1 }, required: true }],
    responses: { 200: json('the inclusion proof', R.logInclusionProof), 400: 'bad_request: outside the log' },
  },
  {
    method: 'get', path: '/v1/log/proof/consistency', summary: 'RFC 9162 §2.1.4 consistency proof between sizes M and N', auth: 'public', tag: 'log',
    query: [{ name: 'from', description: 'M', schema: { type: 'integer', minimum: 1 }, required: true }, { name: 'to', description: 'N', schema: { type: 'integer', minimum: 1 }, required: true }],
    responses: { 200: json('the consistency proof', R.logConsistencyProof), 400: 'bad_request: outside the log' },
  },
  { method: 'post', path: '/v1/log/cosignatures', summary: "A configured witness's cosignature of a checkpoint (C2SP tlog-cosignature)", auth: 'public', tag: 'log', body: cosignature, responses: { 201: json('accepted', R.cosignatureAccepted), 422: 'not a configured witness, or not this log\'s checkpoint', 429: 'rate_limited' } },
  // Devices
  {
    method: 'post', path: '/v1/devices', summary: 'Enroll a device (an enroller token, or the device token to re-enroll)', auth: ['enroller'], tag: 'devices', body: enrollment,
    responses: { 201: json('the device token (shown once)', R.enrolled), 409: 'the device exists: re-enroll with its current token' },
  },
  {
    method: 'get', path: '/v1/devices/{deviceId}/update', summary: 'Poll for updates (protocol §7); ETag and If-None-Match', auth: 'device', tag: 'devices',
    query: [{ name: 'version', description: 'the installed version (semver)', schema: { type: 'string', maxLength: 64 } }],
    responses: { 200: json('the offers (release and rollout envelopes with their log proofs) and pollAfterSeconds', R.pollAnswer), 304: 'nothing changed', 429: 'rate_limited: retry after Retry-After' },
  },
  { method: 'post', path: '/v1/devices/{deviceId}/reports', summary: 'Report install progress, one report or a batch (durable before 200)', auth: 'device', tag: 'devices', body: report, responses: { 200: json('what was accepted, once durable', R.reportResult), 409: 'seq_conflict' } },
  // hawkBit DDI gateway (protocol §11): stock clients (SWUpdate, rauc-hawkbit-updater, Zephyr) in the same rollouts
  {
    method: 'get', path: '/{tenant}/controller/v1/{controllerId}', summary: 'DDI base poll: polling sleep and links to deploymentBase, cancelAction, configData; a GatewayToken registers an unknown controllerId', auth: 'ddi', tag: 'ddi',
    responses: { 200: json('polling sleep and links', R.ddiBasePoll), 404: 'not_found: another tenant' },
  },
  {
    method: 'get', path: '/{tenant}/controller/v1/{controllerId}/deploymentBase/{actionId}', summary: 'DDI deployment: the release as one chunk with its artifact (sha1, md5, sha256, absolute links)', auth: 'ddi', tag: 'ddi',
    responses: { 200: json('the deployment', R.ddiDeploymentBase), 404: 'not this controller\'s action', 410: 'action_closed' },
  },
  {
    method: 'post', path: '/{tenant}/controller/v1/{controllerId}/deploymentBase/{actionId}/feedback', summary: 'DDI feedback, stored as a durable report with a server-assigned seq (proceeding → installing, closed → applied or failed, rejected → declined)', auth: 'ddi', tag: 'ddi', body: ddiFeedback,
    responses: { 200: { description: 'durable (or a repeat, which stores nothing); no body', empty: true }, 404: 'not this controller\'s action', 410: 'action_closed', 413: 'payload_too_large' },
  },
  {
    method: 'get', path: '/{tenant}/controller/v1/{controllerId}/cancelAction/{actionId}', summary: 'DDI cancel of an open action whose rollout was halted or cancelled', auth: 'ddi', tag: 'ddi',
    responses: { 200: json('the cancel', R.ddiCancelAction), 404: 'no such cancel for this controller' },
  },
  {
    method: 'post', path: '/{tenant}/controller/v1/{controllerId}/cancelAction/{actionId}/feedback', summary: 'DDI cancel acknowledgement: closed closes the action as declined (code cancelled), never applied', auth: 'ddi', tag: 'ddi', body: ddiFeedback,
    responses: { 200: { description: 'durable; no body', empty: true }, 404: 'no such cancel for this controller', 410: 'action_closed' },
  },
  {
    method: 'put', path: '/{tenant}/controller/v1/{controllerId}/configData', summary: 'DDI configData: the attributes become the device\'s (model and version from the configured attribute names)', auth: 'ddi', tag: 'ddi', body: ddiConfigData,
    responses: { 200: { description: 'stored; no body', empty: true } },
  },
  {
    method: 'get', path: '/{tenant}/controller/v1/{controllerId}/softwaremodules/{moduleId}/artifacts/{filename}', summary: 'DDI artifact download (content-addressed: no token needed), with HEAD and Range; {filename}.MD5SUM gives its md5 line', auth: 'public', tag: 'ddi',
    responses: { 200: { description: 'the bytes (or the md5 line)', contentType: 'application/octet-stream' }, 206: { description: 'the requested range', contentType: 'application/octet-stream' }, 404: 'no such artifact', 416: 'invalid_range' },
  },
  // Operators
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics (docs/operations.md)', auth: READERS, tag: 'operations', responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } } },
  { method: 'post', path: '/v1/releases', summary: 'Publish a signed release (protocol §4)', auth: PUBLISH, tag: 'releases', body: release, responses: { 200: json('already published with this content', R.releaseView), 201: json('published', R.releaseView), 409: 'the id exists with other content', 422: 'signatures, threshold, policy or expiry refused (every reason listed)' } },
  { method: 'get', path: '/v1/releases', summary: 'Published releases, paged', auth: READERS, tag: 'releases', query: PAGE(100), responses: { 200: json('releases and nextCursor', R.releasePage) } },
  { method: 'get', path: '/v1/releases/{id}', summary: 'One published release', auth: READERS, tag: 'releases', responses: { 200: json('the release with its envelope', R.releaseView), 404: 'no such release' } },
  {
    method: 'post', path: '/v1/releases/{id}/withdraw', summary: 'Withdraw (yank) a release: offered by no rollout any more; a signed withdrawal statement is logged (protocol §7, §8)', auth: PUBLISH, tag: 'releases', body: releaseWithdraw,
    responses: { 200: json('the signed withdrawal statement and its log index — also when it was withdrawn before (idempotent)', R.releaseWithdrawn), 404: 'no such release' },
  },
  { method: 'get', path: '/v1/artifacts', summary: 'Uploaded artifacts (sha256, size, who, when), paged', auth: READERS, tag: 'artifacts', query: PAGE(1000), responses: { 200: json('artifacts and nextCursor', R.artifactPage) } },
  { method: 'put', path: '/v1/artifacts', summary: 'Upload artifact bytes', auth: PUBLISH, tag: 'artifacts', body: 'binary', responses: { 201: json('stored', R.artifactStored), 413: 'payload_too_large' } },
  { method: 'post', path: '/v1/artifacts/prune', summary: 'List (dryRun) or remove uploaded artifacts no published release references', auth: PUBLISH, tag: 'artifacts', body: artifactPrune, responses: { 200: json('the unreferenced artifacts (removed unless dryRun)', R.artifactPruneResult) } },
  { method: 'post', path: '/v1/cohorts', summary: 'Create a cohort (protocol §5)', auth: PUBLISH, tag: 'cohorts', body: cohort, responses: { 201: json('the cohort', R.cohortView), 409: 'it exists' } },
  { method: 'get', path: '/v1/cohorts', summary: 'Every cohort', auth: READERS, tag: 'cohorts', responses: { 200: json('cohorts', R.cohortList) } },
  { method: 'get', path: '/v1/cohorts/{name}', summary: 'One cohort with a page of its members', auth: READERS, tag: 'cohorts', query: PAGE(10_000), responses: { 200: json('the cohort, members and nextCursor', R.cohortPage), 404: 'no such cohort' } },
  { method: 'put', path: '/v1/cohorts/{name}', summary: "Edit a cohort's description or rule (protocol §7 fleet lifecycle)", auth: PUBLISH, tag: 'cohorts', body: cohortUpdate, responses: { 200: json('the cohort', R.cohortView), 404: 'no such cohort', 409: 'the implicit cohort all' } },
  { method: 'delete', path: '/v1/cohorts/{name}', summary: 'Delete a cohort no open rollout uses (protocol §7 fleet lifecycle)', auth: PUBLISH, tag: 'cohorts', responses: { 204: 'deleted', 404: 'no such cohort', 409: 'a rollout that is not completed or cancelled names it (listed in details), or the implicit cohort all' } },
  { method: 'put', path: '/v1/cohorts/{name}/members', summary: "Replace a cohort's member list", auth: PUBLISH, tag: 'cohorts', body: cohortMembers, responses: { 200: json('the cohort', R.cohortView), 404: 'no such cohort' } },
  { method: 'post', path: '/v1/rollouts', summary: 'Create a rollout (a draft)', auth: PUBLISH, tag: 'rollouts', body: rolloutCreate, responses: { 201: json('the draft rollout', R.rolloutView), 409: 'the id exists', 422: 'unknown release or cohort, or the release expired' } },
  ...rolloutActions,
  { method: 'post', path: '/v1/rollouts/{id}/clone', summary: "A fresh draft with this rollout's release, stages and failure policy (new salt)", auth: PUBLISH, tag: 'rollouts', body: rolloutClone, responses: { 201: json('the new draft', R.rolloutView), 404: 'no such rollout', 409: 'the new id exists' } },
  { method: 'patch', path: '/v1/rollouts/{id}', summary: "Change a running or paused rollout's failure policy (audit-logged; nothing is re-signed) (protocol §7)", auth: PUBLISH, tag: 'rollouts', body: rolloutUpdate, responses: { 200: json('the rollout (halted if the new policy is already crossed)', R.rolloutView), 404: 'no such rollout', 409: 'invalid_transition: not running or paused' } },
  { method: 'get', path: '/v1/rollouts', summary: 'Rollouts, paged', auth: READERS, tag: 'rollouts', query: PAGE(1000), responses: { 200: json('rollouts and nextCursor', R.rolloutPage) } },
  { method: 'get', path: '/v1/rollouts/{id}', summary: 'One rollout with its statements', auth: READERS, tag: 'rollouts', responses: { 200: json('the rollout with its statements', R.rolloutView), 404: 'no such rollout' } },
  { method: 'get', path: '/v1/rollouts/{id}/status', summary: 'State, counts, failure rate, settings compliance, per-stage reach', auth: READERS, tag: 'rollouts', responses: { 200: json('the status', R.rolloutStatus), 404: 'no such rollout' } },
  {
    method: 'get', path: '/v1/rollouts/{id}/devices', summary: "The rollout's devices, by state, paged", auth: READERS, tag: 'rollouts',
    query: [{ name: 'state', description: 'a report state, timed_out or silent', schema: { type: 'string' } }, ...PAGE(1000)],
    responses: { 200: json('devices and nextCursor', R.rolloutDevices), 404: 'no such rollout' },
  },
  {
    method: 'get', path: '/v1/rollouts/{id}/timeline', summary: "Terminal and failure counts per interval fitted to the rollout's span, for the failure rate over time", auth: READERS, tag: 'rollouts',
    query: [{ name: 'limit', description: 'points, 1..10080 (default 1440)', schema: { type: 'integer', minimum: 1, maximum: 10080 } }],
    responses: { 200: json('points, oldest first', R.rolloutTimeline), 404: 'no such rollout' },
  },
  {
    method: 'get', path: '/v1/audit', summary: 'The hash-chained audit log (oldest first unless order=desc)', auth: READERS, tag: 'audit',
    query: [
      { name: 'order', description: 'asc (default) or desc', schema: { enum: ['asc', 'desc'] } },
      { name: 'subject', description: 'only entries about this subject (a rollout id, release id, cohort name...)', schema: { type: 'string', maxLength: 256 } },
      ...PAGE(1000),
    ],
    responses: { 200: json('entries and nextCursor', R.auditPage) },
  },
  {
    method: 'get', path: '/v1/devices', summary: 'Enrolled devices, filtered, paged (at most 2000 looked at per call: page until nextCursor is null)', auth: READERS, tag: 'devices',
    query: [...['admission', 'model', 'cohort', 'rollout', 'state'].map((name) => ({ name, description: `filter by ${name}`, schema: { type: 'string', maxLength: 128 } as JsonSchema })), ...PAGE(1000)],
    // With ?admission=<state> (protocol §12) the page lists admission requests instead of enrolled devices.
    responses: { 200: json('devices and nextCursor: enrolled devices, or with ?admission= admission requests', { oneOf: [R.devicePage, R.admissionPage] } as JsonSchema), 404: 'no such cohort or rollout (the filters)' },
  },
  { method: 'get', path: '/v1/devices/{deviceId}', summary: 'One device for operators: model, version, cohorts, last seen, its reports per rollout', auth: READERS, tag: 'devices', responses: { 200: json('the device', R.deviceDetail), 403: 'a device token (operators only)', 404: 'no such device' } },
  {
    method: 'delete', path: '/v1/devices/{deviceId}', summary: 'Decommission a device: its token is refused at once on every node; its history stays (protocol §7 fleet lifecycle)', auth: PUBLISH, tag: 'devices',
    responses: { 204: 'decommissioned (or already was)', 404: 'no such device' },
  },
  {
    method: 'post', path: '/v1/devices/{deviceId}/cancel-update', summary: "Withdraw a rollout's open offer to this device; counted as cancelled, apart from failures (protocol §7)", auth: PUBLISH, tag: 'devices', body: cancelUpdate,
    responses: { 200: json('the offer withdrawn, counted as cancelled', R.updateCancelled), 404: 'no such device or rollout', 409: 'the device already finished in that rollout, or the rollout is cancelled' },
  },
  // Device admission (protocol §12): release managers decide
  { method: 'post', path: '/v1/devices/{deviceId}/accept', summary: 'Admit a device that asked (its newest pending key, or keySha256)', auth: PUBLISH, tag: 'devices', body: deviceAdmission, responses: { 200: json('the accepted request', R.admissionRequest), 404: 'the device never asked' } },
  { method: 'post', path: '/v1/devices/{deviceId}/reject', summary: 'Refuse a device: every key of it; its gateway tokens stop working', auth: PUBLISH, tag: 'devices', body: deviceAdmission, responses: { 200: json('how many keys were refused', R.admissionRejected), 404: 'the device never asked' } },
  { method: 'post', path: '/v1/preauthorizations', summary: 'Admit an identity and key before the device asks (protocol §12)', auth: PUBLISH, tag: 'devices', body: devicePreauthorization, responses: { 201: json('the preauthorization, with the derived deviceId', R.admissionRequest), 400: 'id data or key not valid' } },
  // Mender device API (protocol §12): stock mender clients, served by the device edge
  {
    method: 'post', path: '/api/devices/v1/authentication/auth_requests', summary: 'Mender: ask to be admitted; X-MEN-Signature over the raw body by the key in it', auth: 'public', tag: 'mender',
    body: menderAuthRequest,
    responses: { 200: { description: 'the device token, bare', contentType: 'text/plain' }, 401: 'pending, rejected, or the signature does not verify', 429: 'too many devices waiting to be admitted' },
  },
  {
    method: 'put', path: '/api/devices/v1/inventory/device/attributes', summary: 'Mender: the device\'s attributes (replace); device_type is its model, artifact_name its version', auth: 'device', tag: 'mender',
    body: menderInventory, responses: { 200: { description: 'stored (an empty body)', contentType: 'text/plain' } },
  },
  {
    method: 'patch', path: '/api/devices/v1/inventory/device/attributes', summary: 'Mender: the device\'s attributes (merge)', auth: 'device', tag: 'mender',
    body: menderInventory, responses: { 200: { description: 'stored (an empty body)', contentType: 'text/plain' } },
  },
  {
    method: 'post', path: '/api/devices/v2/deployments/device/deployments/next', summary: 'Mender: the deployment to install, if any', auth: 'device', tag: 'mender',
    body: menderNext,
    responses: { 200: json('the deployment to install', R.menderDeployment), 204: 'nothing to install' },
  },
  {
    method: 'get', path: '/api/devices/v1/deployments/device/deployments/next', summary: 'Mender (v1): the deployment to install, if any', auth: 'device', tag: 'mender',
    query: [{ name: 'device_type', description: 'the device type', schema: { type: 'string', maxLength: 1024 } }, { name: 'artifact_name', description: 'the installed artifact name', schema: { type: 'string', maxLength: 1024 } }],
    responses: { 200: json('as the v2 route', R.menderDeployment), 204: 'nothing to install' },
  },
  {
    method: 'put', path: '/api/devices/v1/deployments/device/deployments/{id}/status', summary: 'Mender: deployment status (durable before the 204)', auth: 'device', tag: 'mender',
    body: menderStatus,
    responses: { 204: 'recorded (or a repeat)', 404: 'no such deployment', 409: 'the deployment was aborted (halted or cancelled rollout)' },
  },
  {
    method: 'put', path: '/api/devices/v1/deployments/device/deployments/{id}/log', summary: 'Mender: the deployment log; a failure keeps its error lines', auth: 'device', tag: 'mender',
    body: menderLog,
    responses: { 204: 'kept' },
  },
  {
    method: 'get', path: '/api/devices/v1/deployments/download/{sha256}', summary: 'Mender: artifact bytes behind a signed, expiring link (Range supported)', auth: 'public', tag: 'mender',
    query: [{ name: 'expires', description: 'Unix seconds', schema: { type: 'string' }, required: true }, { name: 'signature', description: 'HMAC of the link', schema: { type: 'string' }, required: true }],
    responses: { 200: { description: 'the bytes', contentType: 'application/octet-stream' }, 206: { description: 'the requested range', contentType: 'application/octet-stream' }, 403: 'the link was altered or has expired', 416: 'invalid_range' },
  },
  { method: 'post', path: '/v1/tokens', summary: 'Create an operator token (the secret is shown this once)', auth: [], tag: 'tokens', body: tokenCreate, responses: { 201: json('the token, with its secret', R.tokenCreated) } },
  { method: 'get', path: '/v1/tokens', summary: 'Operator tokens: id, role, name, created, last used, revoked (never a secret)', auth: [], tag: 'tokens', query: PAGE(1000), responses: { 200: json('tokens and nextCursor', R.tokenPage) } },
  { method: 'delete', path: '/v1/tokens/{id}', summary: 'Revoke a token, effective from the next request', auth: [], tag: 'tokens', params: { id: { type: 'integer', minimum: 1 } }, responses: { 200: json('the revoked token', R.tokenInfo), 404: 'no such token', 409: 'the last active admin token' } },
  { method: 'get', path: '/v1/whoami', summary: 'Whose token this is: an operator (name, role, token id) or a device (its id)', auth: [...READERS, 'enroller'], tag: 'operations', responses: { 200: json('an operator (name, role, token id) or a device (its id)', R.whoami), 401: 'unauthorized' } },
];
