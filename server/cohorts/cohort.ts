import semver from 'semver';

export type AttributeValue = string | number | boolean;

export interface CohortRule {
  models?: string[];
  versionRange?: string;
  attributes?: Record<string, AttributeValue | AttributeValue[]>;
}

/** protocol §5: a device is in a cohort if it is a listed member or matches the rule. */
export interface Cohort {
  name: string;
  description?: string;
  rule?: CohortRule;
}

/** What eligibility knows about a device at poll time. */
export interface DeviceFacts {
  id: string;
  model: string;
  version: string;
  attributes: Readonly<Record<string, AttributeValue>>;
}

export const ALL_COHORT = 'all';

/** A rule compiled once: models as a set, the semver range parsed. */
export interface CompiledRule {
  models?: ReadonlySet<string>;
  range?: semver.Range;
  attributes?: [string, readonly AttributeValue[]][];
}

export function compileRule(rule: CohortRule): CompiledRule {
  return {
    ...(rule.models ? { models: new Set(rule.models) } : {}),
    ...(rule.versionRange ? { range: new semver.Range(rule.versionRange) } : {}),
    ...(rule.attributes
      ? { attributes: Object.entries(rule.attributes).map(([k, v]): [string, AttributeValue[]] => [k, Array.isArray(v) ? v : [v]]) }
      : {}),
  };
}

/** Every condition of the rule must hold. */
export function matchesRule(rule: CompiledRule, device: DeviceFacts): boolean {
  if (rule.models && !rule.models.has(device.model)) return false;
  if (rule.range && !rule.range.test(device.version)) return false;
  if (rule.attributes) {
    for (const [key, accepted] of rule.attributes) {
      if (!Object.hasOwn(device.attributes, key)) return false;
      if (!accepted.includes(device.attributes[key] as AttributeValue)) return false;
    }
  }
  return true;
}
