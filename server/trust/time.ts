/** protocol §1: timestamps are RFC 3339 UTC strings. */
export const toTimestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const parseTimestamp = (s: string): number => {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new RangeError(`not an RFC 3339 timestamp: ${s}`);
  return ms;
};

/** Expired when now is at or past the instant, allowing `skewMs` of clock drift. */
export const isExpired = (expires: string, now: Date, skewMs = 0): boolean =>
  now.getTime() - skewMs >= parseTimestamp(expires);
