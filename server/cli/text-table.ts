export type Cell = string | number | boolean | null;

const text = (c: Cell): string => (c === null ? '-' : String(c));

/** Aligned columns, two spaces apart, no trailing blanks; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i] ?? null).length)));
  const line = (cells: readonly Cell[], isHeader: boolean) =>
    widths
      .map((w, i) => {
        const c = cells[i] ?? null;
        return !isHeader && typeof c === 'number' ? text(c).padStart(w) : text(c).padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header, true), ...rows.map((r) => line(r, false))];
}
