import canonicalize from 'canonicalize';
import { utf8 } from './encoding.js';

/**
 * RFC 8785 (JCS) canonical JSON through the maintained `canonicalize`
 * package. Signing and verifying both go through `signedBytes`, so the two
 * can never disagree on what was signed.
 */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

export class NonIntegerNumberError extends TypeError {
  constructor(readonly path: string) {
    super(`signed bodies carry integers only; ${path} is not a safe integer`);
  }
}

/** protocol §1: numbers in signed bodies are integers only. Throws on the first float. */
export function assertIntegersOnly(value: unknown, path = ''): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new NonIntegerNumberError(path || '/');
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertIntegersOnly(v, `${path}/${i}`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertIntegersOnly(v, `${path}/${k}`);
  }
}

/** The bytes a signature covers: UTF-8 of JCS(signed), floats refused. */
export function signedBytes(signed: unknown): Uint8Array {
  assertIntegersOnly(signed);
  return utf8(canonicalJson(signed));
}
