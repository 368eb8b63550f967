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
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value: v, path, depth } = item;
    if (typeof v === 'string') {
      if (!wellFormed(v)) refuse(path, 'a string holds a lone UTF-16 surrogate');
      if (hasNul(v)) refuse(path, 'a string holds U+0000');
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) refuse(path, 'a number is out of range');
    } else if (typeof v === 'object' && v !== null) {
      if (depth >= MAX_JSON_DEPTH) refuse(path, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) stack.push({ value: v[i], path: `${path}/${i}`, depth: depth + 1 });
      } else {
        for (const [key, member] of Object.entries(v)) {
          if (!wellFormed(key)) refuse(path, 'a member name holds a lone UTF-16 surrogate');
          if (hasNul(key)) refuse(path, 'a member name holds U+0000');
          stack.push({ value: member, path: `${path}/${key}`, depth: depth + 1 });
        }
      }
    }
  }
}
