import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../server/protocol/crypto/encoding.js';
import { generatePrivateKey, publicPart } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { parseCheckpoint, signCheckpoint, verifyCheckpoint } from '../../server/protocol/transparency/checkpoint.js';

const key = generatePrivateKey();
const other = generatePrivateKey();
const root = Uint8Array.from({ length: 32 }, (_, i) => i);
const note = signCheckpoint({ origin: 'ota.local/log', size: 7, rootHash: root }, ed25519Signer(key), key.keyval.public);
const [body, sigLine] = note.split('\n\n') as [string, string];

describe('checkpoint notes (protocol §8, C2SP signed note)', () => {
  it('round-trips: origin, size, root; verifies under the signing key only', () => {
    expect(note).toBe(`ota.local/log\n7\n${Buffer.from(root).toString('base64')}\n\n\u2014 ota.local/log ${sigLine.slice('\u2014 ota.local/log '.length)}`);
    expect(parseCheckpoint(note)).toMatchObject({ origin: 'ota.local/log', size: 7, rootHash: root, body: `${body}\n` });
    expect(verifyCheckpoint(note, [publicPart(key)]).ok).toBe(true);
    expect(verifyCheckpoint(note, [publicPart(other), publicPart(key)]).ok).toBe(true);
    expect(verifyCheckpoint(note, [publicPart(other)])).toMatchObject({ ok: false, message: expect.stringMatching(/no valid signature/) });
  });

  it.each([
    ['no blank line', note.replace('\n\n', '\n')],
    ['no final newline', note.slice(0, -1)],
    ['an extension line', note.replace('\n\n', '\nextra\n\n')],
    ['a size with a leading zero', note.replace('\n7\n', '\n07\n')],
    ['a negative size', note.replace('\n7\n', '\n-7\n')],
    ['a short root', note.replace(Buffer.from(root).toString('base64'), Buffer.from(root.slice(1)).toString('base64'))],
    ['a root in URL-safe base64', note.replace(/\n([^\n]*)=\n\n/, (_m, r: string) => `\n${r.replace(/\+/g, '-').replace(/\//g, '_')}=\n\n`).replace('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_')],
    ['a hyphen for the em dash', note.replace('\u2014', '-')],
    ['an origin with a space', note.replaceAll('ota.local/log', 'ota local')],
    ['not a string', 42],
  ])('refuses %s', (_what, bad) => {
    expect(() => parseCheckpoint(bad)).toThrow();
    expect(verifyCheckpoint(bad, [publicPart(key)]).ok).toBe(false);
  });

  it('a signature under another name, with another key hash, or over another body does not count', () => {
    const blob = fromBase64((sigLine.split(' ')[2] as string).trim());
    const renamed = `${body}\n\n\u2014 other.log ${toBase64(blob)}\n`;
    expect(verifyCheckpoint(renamed, [publicPart(key)]).ok).toBe(false);
    const wrongHash = Uint8Array.from(blob, (b, i) => (i === 0 ? b ^ 1 : b));
    expect(verifyCheckpoint(`${body}\n\n\u2014 ota.local/log ${toBase64(wrongHash)}\n`, [publicPart(key)]).ok).toBe(false);
    expect(verifyCheckpoint(note.replace('\n7\n', '\n8\n'), [publicPart(key)]).ok).toBe(false);
  });

  it('base64 helpers are strict and agree with Buffer', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    }
    for (const bad of ['A', 'AB=', 'AB==CD==', 'A B=', 'AB-_', 'AR==']) expect(() => fromBase64(bad), bad).toThrow();
  });
});
