import { AppError } from '../errors.js';

/**
 * How deep a request body may nest. Every document of the protocol fits in 8
 * levels (a release envelope: envelope → signed → settings → item → value);
 * 32 leaves room for growth and keeps every walk of the value (canonical
 * JSON, hashing, validation, logging) far from any stack limit.
 */
export const MAX_JSON_DEPTH = 32;

// String.prototype.isWellFormed is ES2024; Node 20 has it, the ES2023 lib does not declare it.
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** U+0000: no field of the protocol carries it, and PostgreSQL text cannot store it (protocol §9). */
const hasNul = (s: string): boolean => s.includes('\u0000');

const refuse = (path: string, message: string): never => {
  throw new AppError('invalid_json', `the request body is not acceptable JSON: ${message}`, { details: [{ path: path || '/', message }] });
};

/**
 * The JSON edge guard (protocol §7: bad input is refused, never a 500),
 * applied to every parsed body before anything hashes, canonicalizes or
 * stores it: strings and member names must be well-formed UTF-16 (a lone
 * surrogate has no UTF-8 form, so RFC 8785 canonicalization and the
 * database would fail on it later, inside shared work), numbers must be
 * finite (`1e999` parses to Infinity, which has no JSON form), no string
 * holds U+0000 (the same answer on both storage engines), and nesting is
 * bounded. Iterative, linear in the size of the value.
 */
export function assertSafeJson(value: unknown): void {
  // Paths are built only for a refusal (from each entry's parent and key): a 10,000-element list
  // is walked without 10,000 path strings. Entries are appended, never removed, so indices hold.
  const values: unknown[] = [value];
  const parents: number[] = [-1];
  const keys: (string | number)[] = [''];
  const depths: number[] = [0];
  const fail = (at: number, message: string): never => {
    const parts: string[] = [];
    for (let i = at; i > 0; i = parents[i] as number) parts.push(String(keys[i]));
    return refuse(parts.reverse().map((k) => `/${k}`).join(''), message);
  };
  for (let at = 0; at < values.length; at++) {
    const v = values[at];
    if (typeof v === 'string') {
      if (!wellFormed(v)) fail(at, 'a string holds a lone UTF-16 surrogate');
      if (hasNul(v)) fail(at, 'a string holds U+0000');
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(at, 'a number is out of range');
    } else if (typeof v === 'object' && v !== null) {
      const depth = depths[at] as number;
      if (depth >= MAX_JSON_DEPTH) fail(at, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          values.push(v[i]);
          parents.push(at);
          keys.push(i);
          depths.push(depth + 1);
        }
      } else {
        for (const key of Object.keys(v)) {
          if (!wellFormed(key)) fail(at, 'a member name holds a lone UTF-16 surrogate');
          if (hasNul(key)) fail(at, 'a member name holds U+0000');
          values.push((v as Record<string, unknown>)[key]);
          parents.push(at);
          keys.push(key);
          depths.push(depth + 1);
        }
      }
    }
  }
}
