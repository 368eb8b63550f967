/**
 * The shapes the dashboard reads from the API (protocol §5, §7), under the
 * names its pages use. Every one is a type GENERATED from the contract's
 * JSON Schemas (server/openapi/api-types.generated.ts, `npm run gen:api`):
 * nothing here restates a field, so the dashboard cannot drift from what
 * the server answers (test/e2e/rollout-e2e.test.ts checks real answers
 * against the same schemas).
 */
import type * as Api from '../../../openapi/api-types.generated.js';

export type Role = Api.OperatorRole;
export type Whoami = Api.Whoami;
export type Stage = Api.Stage;
export type Rollout = Api.RolloutView;
export type RolloutStatus = Api.RolloutStatus;
export type DeviceError = Api.DeviceError;
export type RolloutDevicesPage = Api.RolloutDevices;
export type RolloutDevice = Api.RolloutDevices['devices'][number];
export type AuditPage = Api.AuditPage;
export type AuditEntry = Api.AuditPage['entries'][number];
export type Timeline = Api.RolloutTimeline;
export type TimelinePoint = Api.RolloutTimeline['points'][number];
export type ReleaseView = Api.ReleaseView;
export type SettingChange = Api.Release['signed']['settings'][number];
export type Policy = Api.SettingsPolicy;
export type PolicySpec = Api.SettingsPolicy['signed']['settings'][string];
export type DevicePage = Api.DevicePage;
export type DeviceSummary = Api.DevicePage['devices'][number];
export type DeviceDetail = Api.DeviceDetail;
/** GET /v1/devices?admission=pending (protocol §12): identities waiting to be admitted. */
export type AdmissionPage = Api.AdmissionPage;
export type PendingDevice = Api.AdmissionRequest;
export type DeviceReport = Api.DeviceDetail['rollouts'][number]['reports'][number];
export type RolloutUpdate = Api.RolloutUpdate;
export type CancelUpdate = Api.CancelUpdate;
export type ReleaseWithdraw = Api.ReleaseWithdraw;

