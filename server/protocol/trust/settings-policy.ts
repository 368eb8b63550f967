import policySchema from '../../../manifests/schema/settings-policy.schema.json' with { type: 'json' };
import type { Envelope } from '../crypto/envelope.js';
import { AppError, type ErrorDetail } from '../../errors.js';
import { compileValidator } from '../../schema/validator.js';

export type SettingValue = boolean | number | string;
export type SettingType = 'boolean' | 'integer' | 'string' | 'enum';

export interface SettingSpec {
  type: SettingType;
  values?: SettingValue[];
  consent?: boolean;
  safeValue?: SettingValue;
  description?: string;
}

export interface PolicySigned {
  type: 'settings-policy';
  version: number;
  settings: Record<string, SettingSpec>;
}

export type PolicyEnvelope = Envelope<PolicySigned>;

export type SettingMode = 'default' | 'reset';
export interface SettingChange {
  key: string;
  value: SettingValue;
  mode: SettingMode;
}

export type PolicyRule = 'P1' | 'P2' | 'P3';
export interface PolicyViolation {
  key: string;
  rule: PolicyRule;
  message: string;
}

const validatePolicyShape = compileValidator<PolicyEnvelope>(policySchema, 'settings policy');

/** Also called on values straight from a signed body, which may be any JSON value. */
export function valueHasType(spec: SettingSpec, value: unknown): boolean {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'enum':
      return (spec.values ?? []).some((v) => v === value);
  }
}

/** Schema plus cross-field rules: enums list values, consent settings name a safe value of their type. */
export function parsePolicy(value: unknown): PolicyEnvelope {
  const policy = validatePolicyShape(value);
  const problems: ErrorDetail[] = [];
  for (const [key, spec] of Object.entries(policy.signed.settings)) {
    const at = `/signed/settings/${key}`;
    if (spec.type === 'enum' && !spec.values) problems.push({ path: at, message: 'an enum setting must list its values' });
    if (spec.type !== 'enum' && spec.values) problems.push({ path: at, message: 'values is only for enum settings' });
    if (spec.consent && spec.safeValue === undefined) problems.push({ path: at, message: 'a consent setting must declare its safeValue (P2)' });
    if (spec.safeValue !== undefined && !valueHasType(spec, spec.safeValue)) problems.push({ path: at, message: `safeValue is not a valid ${spec.type}` });
  }
  if (problems.length) throw new AppError('validation_failed', 'settings policy is not valid', { details: problems });
  return policy;
}

const specOf = (policy: PolicySigned, key: string): SettingSpec | undefined =>
  Object.hasOwn(policy.settings, key) ? policy.settings[key] : undefined;

/**
 * protocol §3 P1–P3 as one pure function, run by the server at publish and by
 * the device agent before applying. Returns every violation (empty = allowed).
 */
export function checkSettings(policy: PolicySigned, changes: readonly SettingChange[]): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const seen = new Set<string>();
  for (const change of changes) {
    const { key, value } = change;
    if (seen.has(key)) violations.push({ key, rule: 'P3', message: `${key} is set more than once; a release sets each setting once, in one mode` });
    seen.add(key);
    const spec = specOf(policy, key);
    if (!spec) {
      violations.push({ key, rule: 'P1', message: `${key} is not declared in settings policy v${policy.version}` });
      continue;
    }
    if (!valueHasType(spec, value)) {
      const expected = spec.type === 'enum' ? `one of ${JSON.stringify(spec.values)}` : `a ${spec.type}`;
      violations.push({ key, rule: 'P1', message: `${key} must be ${expected}, got ${JSON.stringify(value)}` });
      continue;
    }
    if (spec.consent && value !== spec.safeValue) {
      violations.push({
        key,
        rule: 'P2',
        message: `${key} needs the user's consent: an update may only set it to ${JSON.stringify(spec.safeValue)} (enabling is the user's act alone)`,
      });
    }
  }
  return violations;
}

export type SettingSource = 'default' | 'user';
export interface SettingState {
  value: SettingValue;
  source: SettingSource;
}

/**
 * protocol §3 P3, the device side: `default` moves only values still on the
 * default; `reset` sets the value and clears the user's choice. Callers must
 * have run checkSettings first; this function never decides policy.
 */
export function applySettingChange(current: SettingState | undefined, change: SettingChange): SettingState {
  if (change.mode === 'default' && current?.source === 'user') return current;
  return { value: change.value, source: 'default' };
}
