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
  // One promise per body (the reader's), none around it: every device POST comes through here, and
  // each promise costs its async-context hook too (the engines' AsyncLocalStorage, server/db/).
  return readJsonBytes(req, limitBytes).then(parseJsonBytes);
}

/** The §7 JSON rules after the bytes arrived: valid UTF-8, valid JSON, an object or an array, the edge guard. */
function parseJsonBytes(bytes: Buffer): unknown {
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
  try {
    refuseHeaders(req, limitBytes);
  } catch (e) {
    return Promise.reject(e);
  }
  return readBytes(req, limitBytes);
}

/** 415 for a type, charset or encoding other than JSON in UTF-8 as sent; 413 (lingering) for a declared length over the limit. */
function refuseHeaders(req: IncomingMessage, limitBytes: number): void {
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') throw new AppError('unsupported_media_type', 'send the body as Content-Type: application/json');
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw new AppError('unsupported_media_type', `unsupported charset ${charset}`);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') throw new AppError('unsupported_media_type', `unsupported content encoding ${encoding}`);
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) throw tooLarge(req, limitBytes);
}

/** The 413 of a body over the limit; the rest of it is read and discarded (bounded) so the client can read the answer (linger.ts). */
function tooLarge(req: IncomingMessage, limitBytes: number): AppError {
  discardRest(req);
  return new AppError('payload_too_large', `the request body is larger than this endpoint accepts (${limitBytes} bytes)`);
}

/** The body's bytes, at most `limitBytes`. */
function readBytes(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  // Listeners, not an async iterator: every device POST (reports, enrollment, gateways) reads a body, and
  // the iterator's promise per chunk cost more than the parse. Not destroyed on an early exit: a refused
  // body is discarded, not cut off (linger.ts).
  return new Promise<Buffer>((resolve, reject) => {
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
        reject(tooLarge(req, limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (e: Error): void => {
      stop();
      reject(e);
    };
    // The client went away before the end of its body (answered by no one: client-abort.ts).
    const onClose = (): void => {
      stop();
      reject(Object.assign(new Error('the request closed before its body ended'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    if (req.readableEnded) return resolve(Buffer.alloc(0));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}
