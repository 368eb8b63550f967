import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isDiscarding } from './linger.js';
import { failureOf, writeError } from './error-handler.js';
import { readJsonBody, readJsonBodyThen, readJsonBytes } from './raw-json-body.js';
import { newRequestId } from './request-id.js';
import type { RequestObserver } from './request-observer.js';

/**
 * One hot route of a device protocol, served ahead of Express by the device
 * edge. The stages run in this order, each only once the one before it is
 * done: match → auth → body → core → send → observe.
 *
 * - `methods` and `match(url)`: a cheap test (a regular expression); a
 *   request that does not match goes on to the next route, then to Express.
 * - `auth(req, m)`: the credential, and anything the refusal order puts
 *   before it (a 400 for a malformed path); throws an AppError to refuse.
 *   It returns a value or, only when it must read a store, a promise.
 * - `body`: 'json' to read the request body after auth (the §7 JSON rules:
 *   415, 413 at `maxBodyBytes` or else `maxJsonBytes`, 400;
 *   http/raw-json-body.ts); 'bytes' for the same checks but the bytes
 *   unparsed (a body whose signature covers its exact bytes: Mender's
 *   auth_requests); 'none' to leave it unread (the connection then closes
 *   after an error answer).
 * - `core(a, body, req)`: the call into the device core
 *   (device-core/device-core.ts), a value or a promise.
 * - `send(answer, req)`: the status, headers and body of a success; the edge
 *   adds `X-Request-Id` and `X-Content-Type-Options: nosniff` and writes it.
 *
 * Errors from any stage are mapped and written by the edge alone, with the
 * same function as Express's error handler (error-handler.ts `failureOf`).
 * Every answer is observed (metrics, access log, refused-credential limit)
 * under `route`, the label it carries in /metrics.
 *
 * A gateway (hawkBit DDI §11, Mender §12) registers its own hot routes:
 *
 *   edge.register({ route: '/{tenant}/controller/v1/{id}', methods: ['GET'], match: (url) => DDI_RE.exec(url) ?? undefined,
 *     auth: (req, m) => core.authenticate(m[2], req.headers.authorization), body: 'none',
 *     core: (device) => core.offers(device, undefined), send: (offers) => ({ status: 200, headers: {...}, body }) });
 *
 * A route whose stages all answer synchronously (the native poll of a cached
 * device) is answered in the request's own turn, with no promise made.
 */
export interface EdgeRoute<M, A, R> {
  route: string;
  methods: readonly string[];
  match(url: string): M | undefined;
  auth(req: IncomingMessage, m: M, res: ServerResponse): A | Promise<A>;
  body: 'json' | 'bytes' | 'none';
  /** The body limit of this route when it is not the server's JSON limit (a Mender deployment log). */
  maxBodyBytes?: number;
  core(a: A, body: unknown, req: IncomingMessage): R | Promise<R>;
  send(answer: R, req: IncomingMessage): EdgeReply;
}

export interface EdgeReply {
  status: number;
  /** A fresh object per answer (the edge adds its two headers to it). */
  headers: OutgoingHttpHeaders;
  body: Buffer | string | undefined;
}

export interface DeviceEdgeDeps {
  observer: Pick<RequestObserver, 'refused' | 'finish' | 'aborted' | 'databaseAway'>;
  logger: Logger;
  /** The JSON body limit of every route that reads one (config.maxJsonBytes). */
  maxJsonBytes: number;
}

/** A JSON success answer, byte for byte as Express's res.json writes it. */
export function jsonReply(status: number, value: unknown, headers?: OutgoingHttpHeaders): EdgeReply {
  const body = JSON.stringify(value);
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers }, body };
}

// Any route's types: the edge only passes each stage's value to the next stage of the same route.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRoute = EdgeRoute<any, any, any>;

export type DeviceEdge = ReturnType<typeof createDeviceEdge>;

/** Builds the edge; `serve` answers a request if a registered route matches it and returns whether it did. */
export function createDeviceEdge(deps: DeviceEdgeDeps) {
  const routes: AnyRoute[] = [];
  const { observer, logger } = deps;
  /** Answers refused with an error that is no guessed credential (AppError.lockout). */
  const notGuesses = new WeakSet<ServerResponse>();

  const observe = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, started: bigint, requestId: string): void =>
    observer.finish({
      method: req.method as string,
      path: (req.url ?? '').split('?')[0] as string,
      route: route.route,
      status: res.statusCode,
      ip,
      started,
      // Ids only where a log line carries one: the hot 2xx path's debug line skips it.
      requestId: res.statusCode >= 400 ? requestId : undefined,
      ...(notGuesses.has(res) ? { lockout: false as const } : {}),
    });

  const send = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, answer: unknown, requestId: string): void => {
    const reply = route.send(answer, req);
    reply.headers['X-Request-Id'] = requestId;
    reply.headers['X-Content-Type-Options'] = 'nosniff';
    res.writeHead(reply.status, reply.headers);
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  };

  /** The one ending of a failed request on the edge; false when the client went away (nothing to answer). */
  const fail = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, requestId: string, e: unknown): boolean => {
    const err = failureOf(e, req, { logger, requestId, route: route.route, databaseAway: (x) => observer.databaseAway(x) });
    if (err === undefined || res.headersSent) {
      res.destroy();
      return err !== undefined;
    }
    // Unread body bytes must not be parsed as the next request on this connection (unless they are
    // being read and thrown away so the client can read a 413: linger.ts).
    if (!req.complete && !isDiscarding(req)) res.setHeader('Connection', 'close');
    if (!err.lockout) notGuesses.add(res);
    writeError(res, observer.refused(ip, err), requestId);
    return true;
  };

  /** The route's body as its `body` stage reads it, as a promise (after a credential that needed a store). */
  const bodyOf = (route: AnyRoute, req: IncomingMessage): Promise<unknown> => {
    const limit = route.maxBodyBytes ?? deps.maxJsonBytes;
    return route.body === 'json' ? readJsonBody(req, limit) : readJsonBytes(req, limit);
  };

  /**
   * The stages after a credential that needed a store. Chained with `then`, not written as an async
   * function: each promise a request makes also runs the async-context hooks the engines'
   * AsyncLocalStorage installs (server/db/).
   */
  const afterAuth = (route: AnyRoute, req: IncomingMessage, auth: Promise<unknown>): Promise<unknown> =>
    route.body === 'none'
      ? auth.then((a) => route.core(a, undefined, req))
      : auth.then((a) => bodyOf(route, req).then((body) => route.core(a, body, req)));

  /** The one ending of every request the edge took: answered and observed, or counted as aborted. */
  const finish = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, started: bigint, requestId: string, ok: boolean, value: unknown): void => {
    if (ok) {
      try {
        send(route, req, res, value, requestId);
      } catch (e) {
        return finish(route, req, res, ip, started, requestId, false, e);
      }
      return observe(route, req, res, ip, started, requestId);
    }
    if (fail(route, req, res, ip, requestId, value)) observe(route, req, res, ip, started, requestId);
    else observer.aborted({ method: req.method as string, path: (req.url ?? '').split('?')[0] as string, route: route.route, ip, started, requestId });
  };

  /** `finish` from a callback or a promise's settling, where nothing may throw past it. */
  const finishSafely = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, started: bigint, requestId: string, ok: boolean, value: unknown): void => {
    try {
      finish(route, req, res, ip, started, requestId, ok, value);
    } catch (e) {
      logger.error({ err: e, requestId }, 'the device edge failed to answer');
    }
  };

  /** The core's answer, now or once its promise settles. */
  const answer = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, started: bigint, requestId: string, value: unknown): void => {
    if (value instanceof Promise) {
      value.then(
        (a: unknown) => finishSafely(route, req, res, ip, started, requestId, true, a),
        (e: unknown) => finishSafely(route, req, res, ip, started, requestId, false, e),
      );
    } else {
      finish(route, req, res, ip, started, requestId, true, value);
    }
  };

  /**
   * The body, then the core, for a credential known at once: the body's last bytes are answered in
   * their own turn with no promise unless the core makes one (Mender's `next` from memory).
   */
  const readThen = (route: AnyRoute, req: IncomingMessage, res: ServerResponse, ip: string, started: bigint, requestId: string, auth: unknown): void => {
    readJsonBodyThen(req, route.maxBodyBytes ?? deps.maxJsonBytes, route.body === 'json', (e, body) => {
      if (e !== undefined) return finishSafely(route, req, res, ip, started, requestId, false, e);
      let value: unknown;
      try {
        value = route.core(auth, body, req);
      } catch (err) {
        return finishSafely(route, req, res, ip, started, requestId, false, err);
      }
      try {
        answer(route, req, res, ip, started, requestId, value);
      } catch (err) {
        logger.error({ err, requestId }, 'the device edge failed to answer');
      }
    });
  };

  const serveRoute = (route: AnyRoute, m: unknown, req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const ip = req.socket?.remoteAddress ?? 'unknown';
    const requestId = newRequestId(req);
    let value: unknown;
    try {
      const a: unknown = route.auth(req, m, res);
      if (a instanceof Promise) return answer(route, req, res, ip, started, requestId, afterAuth(route, req, a));
      if (route.body !== 'none') return readThen(route, req, res, ip, started, requestId, a);
      value = route.core(a, undefined, req);
    } catch (e) {
      return finish(route, req, res, ip, started, requestId, false, e);
    }
    answer(route, req, res, ip, started, requestId, value);
  };

  return {
    /** Adds a hot route (see EdgeRoute); routes are tried in the order registered. */
    register<M, A, R>(route: EdgeRoute<M, A, R>): void {
      if (routes.some((r) => r.route === route.route && r.methods.some((x) => route.methods.includes(x)))) throw new Error(`edge route ${route.route} is registered twice`);
      routes.push(route as AnyRoute);
    },
    /** Every registered (method, route), for the OpenAPI route table's test. */
    routes: (): { method: string; route: string }[] => routes.flatMap((r) => r.methods.map((method) => ({ method, route: r.route }))),
    /** Answers the request when a registered route matches it; false sends it on (to Express). */
    serve(req: IncomingMessage, res: ServerResponse): boolean {
      const method = req.method as string;
      const url = req.url ?? '';
      for (let i = 0; i < routes.length; i++) {
        const route = routes[i] as AnyRoute;
        if (!route.methods.includes(method)) continue;
        const m: unknown = route.match(url);
        if (m === undefined) continue;
        serveRoute(route, m, req, res);
        return true;
      }
      return false;
    },
  };
}
