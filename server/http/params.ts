import type { Request } from 'express';
import { AppError } from '../errors.js';

export const SLUG_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** A device model (common.schema.json#/$defs/model): what releases name in `models`. */
export const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A path parameter checked against its identifier pattern (protocol §5: anything else is 400). */
export function pathParam(req: Request, name: string, pattern: RegExp, what: string): string {
  const raw = (req.params as Record<string, string | string[] | undefined>)[name];
  const value = typeof raw === 'string' ? raw : undefined;
  if (value === undefined || !pattern.test(value)) {
    throw new AppError('bad_request', `${what} is not a valid identifier`);
  }
  return value;
}

/** An identifier from a raw (percent-encoded) path segment: 400 unless it decodes to one matching `pattern`. */
export function decodeSegment(raw: string, pattern: RegExp, what: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new AppError('bad_request', `${what} is not a valid identifier`);
  }
  if (!pattern.test(id)) throw new AppError('bad_request', `${what} is not a valid identifier`);
  return id;
}

/**
 * A raw query string's parameters: 400 for a malformed percent-encoding, which
 * URLSearchParams would otherwise read as U+FFFD without a word (a device
 * type that silently became another value).
 */
export function queryParams(raw: string): URLSearchParams {
  for (const part of raw.split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      throw new AppError('bad_request', 'the query string has a malformed percent-encoding');
    }
  }
  return new URLSearchParams(raw);
}

/** A device id from a raw (percent-encoded) path segment: 400 unless it decodes to a valid id. */
export const decodeDeviceId = (raw: string): string => decodeSegment(raw, DEVICE_ID_RE, 'device id');
