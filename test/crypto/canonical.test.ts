import { describe, expect, it } from 'vitest';
import { canonicalJson, NonIntegerNumberError, signedBytes } from '../../server/protocol/crypto/canonical.js';
import { listVectors, readVector } from '../helpers/vectors.js';

const vectors = listVectors('jcs', 'input').filter((f) => f.endsWith('.json'));

describe('RFC 8785 canonical JSON (test/vectors/jcs)', () => {
  it('finds all six vectors', () => {
    expect(vectors).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  });

  it.each(vectors)('%s canonicalizes to exactly the expected bytes', (name) => {
    const input: unknown = JSON.parse(readVector('jcs', 'input', name).toString('utf8'));
    const expected = readVector('jcs', 'output', name);
    expect(Buffer.from(canonicalJson(input), 'utf8').equals(expected)).toBe(true);
  });

  it.each(vectors.filter((v) => v !== 'values.json'))('%s: signedBytes gives the same bytes (no floats)', (name) => {
    const input: unknown = JSON.parse(readVector('jcs', 'input', name).toString('utf8'));
    expect(Buffer.from(signedBytes(input)).equals(readVector('jcs', 'output', name))).toBe(true);
  });
});

describe('signedBytes refuses floats (protocol §1: integers only)', () => {
  it('refuses the float-carrying values vector', () => {
    const input: unknown = JSON.parse(readVector('jcs', 'input', 'values.json').toString('utf8'));
    expect(() => signedBytes(input)).toThrow(NonIntegerNumberError);
  });

  it.each([
    { value: { a: 1.5 }, path: '/a' },
    { value: { a: [1, 2, 0.1] }, path: '/a/2' },
    { value: { a: { b: 1e300 } }, path: '/a/b' },
    { value: { n: 2 ** 53 }, path: '/n' },
    { value: { n: Number.NaN }, path: '/n' },
    { value: 0.5, path: '/' },
  ])('refuses $path in $value', ({ value, path }) => {
    let thrown: unknown;
    try {
      signedBytes(value);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(NonIntegerNumberError);
    expect((thrown as NonIntegerNumberError).path).toBe(path);
  });

  it('accepts integers, including negatives and the safe-integer bounds', () => {
    const bytes = signedBytes({ b: -1, a: Number.MAX_SAFE_INTEGER, c: [0, Number.MIN_SAFE_INTEGER] });
    expect(Buffer.from(bytes).toString('utf8')).toBe('{"a":9007199254740991,"b":-1,"c":[0,-9007199254740991]}');
  });
});
