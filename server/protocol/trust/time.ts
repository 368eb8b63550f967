/** protocol §1: timestamps are RFC 3339 UTC strings. */
export const toTimestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

/**
 * A real calendar instant, or undefined. Date.parse rolls impossible dates
 * over (`2026-02-31` becomes 3 March), so the fields are read back and must
 * be the ones written.
 */
export function instantOf(s: string): number | undefined {
  const m = RFC3339_UTC.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  const fields = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  return fields.every((f, i) => f === Number(m[i + 1])) ? ms : undefined;
}

export const parseTimestamp = (s: string): number => {
  const ms = instantOf(s);
  if (ms === undefined) throw new RangeError(`not an RFC 3339 timestamp: ${s}`);
  return ms;
};

/** Expired when now is at or past the instant, allowing `skewMs` of clock drift. */
export const isExpired = (expires: string, now: Date, skewMs = 0): boolean =>
  now.getTime() - skewMs >= parseTimestamp(expires);
