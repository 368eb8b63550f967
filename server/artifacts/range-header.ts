/**
 * RFC 9110 §14.1.1: "If the selected representation is shorter than the
 * specified suffix-length, the entire representation is used." The `send`
 * module (range-parser) refuses such a suffix range with 416 instead, so a
 * suffix longer than the file is rewritten as the whole file (`0-`) before
 * `send` sees it. Other range specs pass through unchanged; a suffix of 0
 * stays unsatisfiable, as the RFC says.
 */
export function clampSuffixRanges(range: string, size: number): string {
  const eq = range.indexOf('=');
  if (eq < 0 || range.slice(0, eq).trim().toLowerCase() !== 'bytes') return range;
  const specs = range
    .slice(eq + 1)
    .split(',')
    .map((spec) => {
      const m = /^\s*-\s*(\d+)\s*$/.exec(spec);
      return m && Number(m[1]) > size ? '0-' : spec.trim();
    });
  return `${range.slice(0, eq)}=${specs.join(',')}`;
}
