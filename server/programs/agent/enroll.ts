import { createHttpTransport } from './http-transport.js';
import { TransportError } from './ports.js';

export interface EnrollOptions {
  baseUrl: string;
  /** An enrollment credential, or the device's current token to re-enroll (protocol §7). */
  token: string;
  deviceId: string;
  model: string;
  version: string;
  attributes?: Record<string, string | number | boolean>;
  fetch?: typeof fetch;
}

export class EnrollmentError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'EnrollmentError';
  }
}

/** protocol §7: POST /v1/devices → 201 { deviceToken }. */
export async function enrollDevice(o: EnrollOptions): Promise<string> {
  const transport = createHttpTransport({ baseUrl: o.baseUrl, token: o.token, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const body = { deviceId: o.deviceId, model: o.model, version: o.version, ...(o.attributes ? { attributes: o.attributes } : {}) };
  const res = await transport.post('/v1/devices', body);
  const json = res.json as { deviceToken?: unknown; error?: { code?: string; message?: string } } | undefined;
  if (res.status === 201 && typeof json?.deviceToken === 'string') return json.deviceToken;
  if (res.status === 201) throw new TransportError('enrollment answered 201 without a deviceToken', 201);
  throw new EnrollmentError(`enrollment of ${o.deviceId} refused (${res.status}): ${json?.error?.message ?? 'no reason given'}`, res.status, json?.error?.code);
}
