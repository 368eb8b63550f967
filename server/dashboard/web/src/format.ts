import { percentText } from '../../../lib/percent.js';

/** Display helpers. Values are returned as strings and rendered as text nodes, never as markup. */

/** Basis points as a percentage with two decimals, as the CLI and halt reasons show them. */
export const percent = percentText;

export function when(ts: string | null | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

export function duration(seconds: number): string {
  if (seconds === 0) return 'none';
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export const json = (v: unknown): string => JSON.stringify(v);

/** A short form of a long hex value, with the whole in a title. */
export const short = (hex: string, n = 16): string => (hex.length > n ? `${hex.slice(0, n)}…` : hex);

const RUNS = /\d+|\D+/g;

/**
 * Orders ids as people read them: runs of digits by their value, so
 * `sim-9-4` comes before `sim-9-12` (issue 18); other runs by code point.
 */
export function naturalCompare(a: string, b: string): number {
  const x = a.match(RUNS) ?? [];
  const y = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q)) {
      // By value, without Number(): an id may hold more digits than a double keeps.
      const pv = p.replace(/^0+(?=\d)/, '');
      const qv = q.replace(/^0+(?=\d)/, '');
      if (pv.length !== qv.length) return pv.length - qv.length;
      if (pv !== qv) return pv < qv ? -1 : 1;
      continue;
    }
    return p < q ? -1 : 1;
  }
  if (x.length !== y.length) return x.length - y.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
