/** A plain-text table: left-aligned columns two spaces apart, numbers right-aligned. */
export function textTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const cells = [headers.map(String), ...rows.map((r) => r.map(String))];
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) =>
    r
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number)))
      .join('  ')
      .trimEnd(),
  );
}
