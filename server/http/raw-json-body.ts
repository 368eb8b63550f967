import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';
import { assertSafeJson } from './json-guard.js';
import { discardRest } from './linger.js';

/**
 * Reads a JSON body straight off node:http with the same guarantees as the
 * Express JSON routes: `application/json` only (415), UTF-8 only (415), no
 * content encodings (415), at most `limitBytes` (413, checked against
 * Content-Length before reading and while streaming), valid JSON (400), an
 * object or an array (400), through the JSON edge guard (json-guard.ts).
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  return readJsonBytes(req, limitBytes).then(parseJsonBytes);
}

/** What a body reader calls once: an error, or the body (its bytes, or its parsed JSON). */
export type BodyCallback = (error: unknown, body?: unknown) => void;

/**
 * `readJsonBody` or `readJsonBytes` (`parse` false) with a callback instead of a promise: the device
 * edge answers a device POST whose credential and core need no wait in the turn its body ends. Every
 * device POST comes through here, and each promise also runs the async-context hooks of the engines'
 * AsyncLocalStorage (server/db/). The callback runs exactly once, never inside this call.
 */
export function readJsonBodyThen(req: IncomingMessage, limitBytes: number, parse: boolean, done: BodyCallback): void {
  try {
    refuseHeaders(req, limitBytes);
  } catch (e) {
    process.nextTick(done, e);
    return;
  }
  readBytes(req, limitBytes, parse ? (e, bytes) => {
    if (e !== undefined) return done(e);
    let value: unknown;
    try {
      value = parseJsonBytes(bytes as Buffer);
    } catch (err) {
      return done(err);
    }
    done(undefined, value);
  } : done);
}

/** The §7 JSON rules after the bytes arrived: valid UTF-8, valid JSON, an object or an array, the edge guard. */
export function parseJsonBytes(bytes: Buffer): unknown {
  // Invalid UTF-8 would otherwise become U+FFFD silently: refused, like any other malformed body.
  if (!isUtf8(bytes)) throw new AppError('invalid_json', 'the request body is not valid UTF-8');
  // RFC 8259 §8.1: a parser may ignore a byte order mark; so does this one, on every route.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8', start));
  } catch {
    throw new AppError('invalid_json', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new AppError('invalid_json', 'the request body must be a JSON object or array');
  assertSafeJson(value);
  return value;
}

/**
 * The raw bytes of a JSON body, with the header and size checks of
 * `readJsonBody` (415, 413 with a lingering close) but not parsed: for a
 * route that must verify a signature over the exact bytes (protocol §12
 * auth_requests) before it reads them.
 */
export function readJsonBytes(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => readJsonBodyThen(req, limitBytes, false, (e, bytes) => (e === undefined ? resolve(bytes as Buffer) : reject(e))));
}

/** 415 for a type, charset or encoding other than JSON in UTF-8 as sent; 413 (lingering) for a declared length over the limit. */
function refuseHeaders(req: IncomingMessage, limitBytes: number): void {
  const contentType = req.headers['content-type'];
  // What device clients send, accepted without taking it apart.
  if (contentType !== 'application/json') refuseType(contentType);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') throw new AppError('unsupported_media_type', `unsupported content encoding ${encoding}`);
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) throw tooLarge(req, limitBytes);
}

/** 415 unless the media type is JSON with no charset or UTF-8's. */
function refuseType(contentType: string | undefined): void {
  const [type, ...params] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') throw new AppError('unsupported_media_type', 'send the body as Content-Type: application/json');
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw new AppError('unsupported_media_type', `unsupported charset ${charset}`);
}

/** The 413 of a body over the limit; the rest of it is read and discarded (bounded) so the client can read the answer (linger.ts). */
function tooLarge(req: IncomingMessage, limitBytes: number): AppError {
  discardRest(req);
  return new AppError('payload_too_large', `the request body is larger than this endpoint accepts (${limitBytes} bytes)`);
}

/** The body's bytes, at most `limitBytes`, to `done` (once, never inside this call). */
function readBytes(req: IncomingMessage, limitBytes: number, done: BodyCallback): void {
  // Listeners, not an async iterator: every device POST (reports, enrollment, gateways) reads a body, and
  // the iterator's promise per chunk cost more than the parse. Not destroyed on an early exit: a refused
  // body is discarded, not cut off (linger.ts).
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limitBytes) {
      stop();
      done(tooLarge(req, limitBytes));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    stop();
    done(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const onError = (e: Error): void => {
    stop();
    done(e);
  };
  // The client went away before the end of its body (answered by no one: client-abort.ts).
  const onClose = (): void => {
    stop();
    done(Object.assign(new Error('the request closed before its body ended'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
  if (req.readableEnded) {
    process.nextTick(done, undefined, Buffer.alloc(0));
    return;
  }
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', onError);
  req.once('close', onClose);
}
