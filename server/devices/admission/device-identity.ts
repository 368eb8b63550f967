import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../protocol/crypto/canonical.js';
import { AppError } from '../../errors.js';

/** Bounds on what a device sends to be admitted (attacker-controlled, protocol §12). */
export const MAX_ID_DATA_CHARS = 4096;
export const MAX_PUBKEY_CHARS = 8192;
const MAX_ID_ATTRIBUTES = 32;
const MAX_SIGNATURE_CHARS = 1024;
/**
 * An RSA key's public exponent, at most 2^31 − 1 as Go's crypto/rsa (the
 * Mender client's) requires: a huge exponent makes every verification of a
 * forged request up to ~90× dearer, work an outsider could ask for at will.
 */
const MAX_RSA_EXPONENT = 0x7fff_ffffn;

export type IdData = Record<string, string | string[]>;

/** A device's identity as it asked to be admitted: canonical id_data, its derived device id, its key. */
export interface DeviceIdentity {
  deviceId: string;
  /** RFC 8785 canonical JSON of id_data: the same identity whatever the client's key order or spacing. */
  idData: string;
  key: KeyObject;
  /** The public key as SPKI PEM, re-encoded (what the server stores and shows). */
  pubkey: string;
  /** Lower-case hex SHA-256 of the key's SPKI DER: how operators tell two keys of one identity apart. */
  keySha256: string;
}

const invalid = (path: string, message: string) => new AppError('validation_failed', 'the admission request is not valid', { details: [{ path, message }] });

/**
 * Text every engine stores and RFC 8785 can write: no NUL (PostgreSQL's text
 * refuses it) and no lone surrogate (JSON.parse lets `"\ud800"` through; it
 * is not Unicode, and canonical JSON has no form for it).
 */
const LONE_SURROGATE_RE = /\p{Cs}/u;
const storable = (s: string): boolean => !s.includes('\u0000') && !LONE_SURROGATE_RE.test(s);

/**
 * id_data is a JSON object of identity attributes (Mender: `{"mac": "…"}`),
 * each a string or a list of strings, sent as a JSON string inside the body.
 */
export function parseIdData(raw: unknown): IdData {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_ID_DATA_CHARS) throw invalid('/id_data', `must be a JSON string of at most ${MAX_ID_DATA_CHARS} characters`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid('/id_data', 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('/id_data', 'must be a JSON object');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_ID_ATTRIBUTES) throw invalid('/id_data', `must have 1 to ${MAX_ID_ATTRIBUTES} attributes`);
  for (const [k, v] of entries) {
    const ok = typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
    // The path names the attribute only when its name can be written back (the answer is JSON too).
    const at = `/id_data/${storable(k) ? k : '…'}`;
    if (!ok) throw invalid(at, 'each identity attribute is a string or a non-empty list of strings');
    if (!storable(k) || !(typeof v === 'string' ? storable(v) : v.every(storable))) {
      throw invalid(at, 'identity attributes are Unicode text without NUL or unpaired surrogates (U+0000, U+D800 to U+DFFF)');
    }
  }
  return value as IdData;
}

/**
 * protocol §12 "the device id is derived from id_data" (docs/protocol-notes.md):
 * `mender-` + the first 32 hex characters (128 bits) of SHA-256 over the
 * RFC 8785 canonical JSON of id_data. Stable across key order and spacing,
 * within the §5 device-id grammar, and never a value the device chose.
 */
export function deviceIdOf(idData: IdData): string {
  return `mender-${createHash('sha256').update(canonicalJson(idData), 'utf8').digest('hex').slice(0, 32)}`;
}

/** RSA (2048 bits or more), ECDSA P-256 or Ed25519 public keys in PEM (protocol §12); anything else is 400. */
export function parsePublicKey(raw: unknown): { key: KeyObject; pubkey: string; keySha256: string } {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PUBKEY_CHARS) throw invalid('/pubkey', `must be a PEM public key of at most ${MAX_PUBKEY_CHARS} characters`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: raw, format: 'pem' });
  } catch {
    throw invalid('/pubkey', 'is not a PEM public key');
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const accepted =
    (type === 'rsa' && (details.modulusLength ?? 0) >= 2048 && (details.modulusLength ?? 0) <= 8192 && (details.publicExponent ?? 0n) <= MAX_RSA_EXPONENT) ||
    (type === 'ec' && details.namedCurve === 'prime256v1') ||
    type === 'ed25519';
  if (!accepted) throw invalid('/pubkey', 'the key must be RSA (2048 to 8192 bits, public exponent below 2^31), ECDSA P-256 or Ed25519');
  const der = key.export({ type: 'spki', format: 'der' });
  return { key, pubkey: key.export({ type: 'spki', format: 'pem' }).toString(), keySha256: createHash('sha256').update(der).digest('hex') };
}

/** The identity of an admission request body `{ id_data, pubkey, tenant_token? }`. */
export function identityOf(body: { id_data?: unknown; pubkey?: unknown }): DeviceIdentity {
  const idData = parseIdData(body.id_data);
  const { key, pubkey, keySha256 } = parsePublicKey(body.pubkey);
  return { deviceId: deviceIdOf(idData), idData: canonicalJson(idData), key, pubkey, keySha256 };
}

const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * protocol §12 X-MEN-Signature: base64 of the signature of the raw body
 * bytes by the key in it — RSA PKCS#1 v1.5 with SHA-256, ECDSA P-256 with
 * SHA-256 (DER, or the 64-byte r‖s form), or Ed25519. False for anything
 * that does not verify, including a malformed header.
 */
export function signatureVerifies(key: KeyObject, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || header.length === 0 || header.length > MAX_SIGNATURE_CHARS || !B64_RE.test(header.trim())) return false;
  const sig = Buffer.from(header.trim(), 'base64');
  if (sig.length === 0) return false;
  try {
    switch (key.asymmetricKeyType) {
      case 'rsa':
        return verify('sha256', body, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
      case 'ec':
        return verify('sha256', body, { key, dsaEncoding: sig.length === 64 ? 'ieee-p1363' : 'der' }, sig);
      case 'ed25519':
        return verify(null, body, key, sig);
      default:
        return false;
    }
  } catch {
    // A signature of the wrong shape for the key (node throws on some): it does not verify.
    return false;
  }
}
