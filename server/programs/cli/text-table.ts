export type Cell = string | number | boolean | null;

const text = (c: Cell): string => (c === null ? '-' : String(c));

/**
 * The one table printer of every `ota` command (and the fleet summary):
 * aligned columns two spaces apart, no trailing blanks, numbers
 * right-aligned, and the header of an all-number column with them.
 * Headers are UPPER CASE by convention.
 */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i] ?? null).length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || (r[i] ?? null) === null) && rows.some((r) => typeof r[i] === 'number'));
  const line = (cells: readonly Cell[], isHeader: boolean) =>
    widths
      .map((w, i) => {
        const c = cells[i] ?? null;
        const right = isHeader ? numeric[i] : typeof c === 'number';
        return right ? text(c).padStart(w) : text(c).padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header, true), ...rows.map((r) => line(r, false))];
}
