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
