/**
 * Byte/hex/UTF-8 helpers that run anywhere (Node, browsers, React Native):
 * the device agent's verification core imports them, so no Buffer here.
 */
const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Strict: lower-case hex of even length only; anything else throws. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new TypeError('not lower-case hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const isHex = (s: unknown, bytes: number): s is string =>
  typeof s === 'string' && s.length === bytes * 2 && HEX_RE.test(s);

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
