import { LRUCache } from 'lru-cache';
import semver from 'semver';

/**
 * Version strings remembered per cache. A fleet runs a handful of versions,
 * so a few entries answer every poll; the strings come from devices, so the
 * caches are bounded, and a string semver would refuse by length alone is
 * never stored.
 */
const REMEMBERED = 1024;
/** semver's own limit (MAX_LENGTH): a longer string is never a version. */
const LONGEST_VERSION = 256;

const clean = new LRUCache<string, string | false>({ max: REMEMBERED, memoMethod: (raw) => semver.valid(raw) ?? false });

/**
 * `semver.valid`, parsed once per distinct string: the native poll names
 * the installed version on every request (protocol §7 `?version`), a Mender
 * client on every `next` (§12 artifact_name), and parsing it cost more than
 * the rest of the eligibility walk.
 */
export const validVersion = (raw: string): string | null => (raw.length > LONGEST_VERSION ? null : clean.memo(raw) || null);

/** The part of a semver range the eligibility walk uses (protocol §5 appliesTo). */
export interface VersionRange {
  test(version: string): boolean;
}

/**
 * A range whose answer is computed once per distinct version: `Range.test`
 * parses the version it is given on every call, and the poll asks it about
 * the same few versions for every device of the fleet.
 */
export function rememberedRange(range: string): VersionRange {
  const r = new semver.Range(range);
  const answers = new LRUCache<string, boolean>({ max: REMEMBERED, memoMethod: (version) => r.test(version) });
  return { test: (version) => (version.length > LONGEST_VERSION ? false : answers.memo(version)) };
}
