import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { writeError } from './error-handler.js';

export interface ConnectionLimits {
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  keepAliveSeconds: number;
}

/** What Node's HTTP parser refuses, as protocol §7 errors (Node itself answers with an empty body). */
function parserError(err: NodeJS.ErrnoException): AppError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('headers_too_large', 'the request headers are larger than this server accepts (16 KiB)');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', 'the request took too long to arrive');
    default:
      return new AppError('bad_request', 'the request is not valid HTTP/1.1');
  }
}

function writeRawError(socket: Socket, err: AppError): void {
  const body = JSON.stringify(err.toBody());
  socket.end(
    `HTTP/1.1 ${err.status} ${err.code}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Connection limits for a server facing millions of devices: slow headers
 * are cut after `headersTimeoutSeconds`, a whole request (artifact uploads
 * included) after `requestTimeoutSeconds`, a socket idle mid-request after
 * `idleTimeoutSeconds`; keep-alive lasts `keepAliveSeconds` (set it above a
 * load balancer's idle timeout). Whatever Node's parser refuses (oversized
 * or malformed headers, duplicate Content-Length, timeouts) is answered
 * with the protocol §7 error body, never an empty one.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, logger: Logger, metrics: Metrics): void {
  server.headersTimeout = limits.headersTimeoutSeconds * 1000;
  server.requestTimeout = limits.requestTimeoutSeconds * 1000;
  server.keepAliveTimeout = limits.keepAliveSeconds * 1000;
  server.timeout = limits.idleTimeoutSeconds * 1000;
  server.on('timeout', (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      metrics.clientAborts.inc({ route: 'unparsed' });
      return void socket.destroy();
    }
    const appErr = parserError(err);
    logger.debug({ code: err.code, status: appErr.status }, 'request refused by the HTTP parser');
    metrics.httpRequests.inc({ route: 'unparsed', status: `${Math.floor(appErr.status / 100)}xx` });
    writeRawError(socket, appErr);
  });
  // RFC 9110 §10.1.1: an expectation the server cannot meet is a 417. Node answers 100-continue itself
  // and, for any other Expect, an empty 417 unless told: the §7 body instead, and the unread body is not
  // parsed as the next request.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const expect = String(req.headers.expect ?? '').slice(0, 64);
    logger.debug({ expect }, 'request refused: unsupported Expect');
    metrics.httpRequests.inc({ route: 'unparsed', status: '4xx' });
    res.setHeader('Connection', 'close');
    writeError(res, new AppError('expectation_failed', `the expectation "${expect}" is not supported; only 100-continue is`));
  });
}

/**
 * RFC 9112 §6.1: a request body's only transfer coding here is `chunked`.
 * Node's parser accepts `gzip, chunked` and reads the body as if it were plain
 * chunked bytes; such a request is refused (400, connection closed) instead
 * of being misread. Returns true when it answered.
 */
export function refuseTransferCoding(req: IncomingMessage, res: ServerResponse): boolean {
  const te = req.headers['transfer-encoding'];
  if (te === undefined || te.trim().toLowerCase() === 'chunked') return false;
  res.setHeader('Connection', 'close');
  writeError(res, new AppError('bad_request', 'the only transfer coding accepted is chunked'));
  return true;
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without a Host header is a 400. Node
 * answers it with an empty body before any handler runs unless the server
 * is made with `requireHostHeader: false` (serve.ts): here it gets the §7
 * body instead. Returns true when it answered.
 */
export function refuseMissingHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.host !== undefined || req.httpVersion !== '1.1') return false;
  res.setHeader('Connection', 'close');
  writeError(res, new AppError('bad_request', 'an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)'));
  return true;
}

/** A percent-encoded U+0000 anywhere in the request target (`%2500` is a literal "%00", not matched). */
const ENCODED_NUL = /%00/i;

/**
 * Protocol §7, at the edge: no path parameter or query value of the
 * protocol carries U+0000, and PostgreSQL text cannot hold it (it answered
 * 500 where SQLite answered 200; issue 20). A request target that decodes
 * to one is refused 400 before any route or store sees it, on both engines.
 * (A raw NUL never gets this far: Node's parser refuses it.) Returns true
 * when it answered.
 */
export function refuseNul(req: IncomingMessage, res: ServerResponse): boolean {
  if (!ENCODED_NUL.test(req.url ?? '')) return false;
  // The body, if any, is not read: do not parse it as the next request.
  res.setHeader('Connection', 'close');
  writeError(res, new AppError('bad_request', 'the request path or query holds a NUL character (%00), which no identifier or value may contain'));
  return true;
}
