import semver from 'semver';
import releaseSchema from '../../manifests/schema/release.schema.json' with { type: 'json' };
import { canonicalJson } from './crypto/canonical.js';
import type { Envelope } from './crypto/envelope.js';
import { sha256Hex } from './crypto/hash.js';
import { AppError, type ErrorDetail } from '../errors.js';
import { compileValidator } from '../schema/validator.js';
import type { SettingChange } from './trust/settings-policy.js';
import { parseTimestamp } from './trust/time.js';

/** protocol §4: the signed body of a release manifest. */
export interface ReleaseSigned {
  type: 'release';
  id: string;
  models: string[];
  appliesTo: string;
  version?: string;
  artifact?: { sha256: string; size: number; url?: string };
  settings: SettingChange[];
  mandatory?: boolean;
  downgrade?: boolean;
  issuedAt: string;
  expires?: string;
  notes?: string;
}

export type ReleaseEnvelope = Envelope<ReleaseSigned>;

const validateReleaseShape = compileValidator<ReleaseEnvelope>(releaseSchema, 'release manifest');

/** Schema, then what JSON Schema cannot check: semver syntax and real calendar instants. */
export function parseRelease(value: unknown): ReleaseEnvelope {
  const release = validateReleaseShape(value);
  const s = release.signed;
  const problems: ErrorDetail[] = [];
  if (semver.validRange(s.appliesTo) === null) problems.push({ path: '/signed/appliesTo', message: `"${s.appliesTo}" is not a valid semver range` });
  if (s.version !== undefined && semver.valid(s.version) === null) problems.push({ path: '/signed/version', message: `"${s.version}" is not a valid semantic version` });
  for (const field of ['issuedAt', 'expires'] as const) {
    const t = s[field];
    if (t === undefined) continue;
    try {
      parseTimestamp(t);
    } catch {
      problems.push({ path: `/signed/${field}`, message: `"${t}" is not a real instant` });
    }
  }
  if (problems.length) throw new AppError('validation_failed', 'release manifest is not valid', { details: problems });
  return release;
}

/** protocol §4: manifestSha256 = hex SHA-256 of JCS(signed). */
export const manifestSha256 = (signed: ReleaseSigned): string => sha256Hex(canonicalJson(signed));

/** The URL devices download from (protocol §4: defaults to /v1/artifacts/{sha256}). */
export const artifactUrl = (signed: ReleaseSigned): string | undefined =>
  signed.artifact ? (signed.artifact.url ?? `/v1/artifacts/${signed.artifact.sha256}`) : undefined;

/** protocol §5: does a device of `model` on `installed` fall under this release? */
export function releaseApplies(signed: ReleaseSigned, model: string, installed: string): boolean {
  if (!signed.models.includes(model)) return false;
  const v = semver.valid(installed);
  return v !== null && semver.satisfies(v, signed.appliesTo);
}
