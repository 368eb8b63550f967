import { isAppError } from '../../errors.js';
import type * as Api from '../../openapi/api-types.generated.js';
import { RESPONSE_REFS, RESPONSE_SCHEMAS } from '../../schema/response-schemas.js';
import { compileValidator } from '../../schema/validator.js';
import { QaError } from './qa-source.js';

/**
 * The answers QA reads, checked against the contract's response schemas
 * (manifests/schema/api/responses) before any figure is compared: a server
 * that answers another shape is reported as such, not mis-measured. The
 * types are the generated ones (openapi/api-types.generated.ts), narrowed to
 * the fields each check relies on, so a check can be fed a hand-made view.
 */

/** GET /v1/rollouts/{id}. The statements stay `unknown`: QA verifies each envelope itself (trust-checks.ts) and trusts no shape. */
export type RolloutView = Pick<Api.RolloutView, 'id' | 'releaseId' | 'salt' | 'state' | 'currentStage'> & {
  stages: Pick<Api.Stage, 'cohort' | 'basisPoints'>[];
  statements: unknown[];
  /** Why it halted (shown, not relied on: the audit chain is what QA checks). */
  lastHalt?: Api.HaltRecord | null;
};

/** One row of GET /v1/rollouts/{id}/devices. */
export type DeviceRow = Pick<Api.RolloutDevices['devices'][number], 'deviceId' | 'stage' | 'state' | 'settings'>;

/** One (value, source) count of GET /v1/rollouts/{id}/status settings. */
export type SettingTally = Api.RolloutStatus['settings'][string][number];

/** GET /v1/rollouts/{id}/status, the fields QA compares. */
export type StatusView = Pick<Api.RolloutStatus, 'state' | 'offered' | 'counts' | 'settings'>;

function parser<T>(schema: object, what: string): (v: unknown) => T {
  const validate = compileValidator<T>(schema, what, RESPONSE_REFS);
  return (v) => {
    try {
      return validate(v);
    } catch (e) {
      if (!isAppError(e)) throw e;
      const problems = (e.details ?? []).map((d) => `${d.path} ${d.message}`);
      throw new QaError(`${what} is not what protocol §5/§7 describes: ${problems.join('; ')}`);
    }
  };
}

const rolloutDevice = { $ref: `${RESPONSE_SCHEMAS.rolloutDevices.$id}#/properties/devices/items` };

export const parseRolloutView: (v: unknown) => RolloutView = parser<Api.RolloutView>(RESPONSE_SCHEMAS.rolloutView, 'the rollout');
export const parseStatusView: (v: unknown) => StatusView = parser<Api.RolloutStatus>(RESPONSE_SCHEMAS.rolloutStatus, 'the rollout status');
const parseRow = parser<Api.RolloutDevices['devices'][number]>(rolloutDevice, 'a device row');
export const parseDeviceRow = (v: unknown): DeviceRow => {
  const { deviceId, stage, state, settings } = parseRow(v);
  return { deviceId, stage, state, settings };
};
