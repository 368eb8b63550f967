import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// A per-process prefix and a counter: unique across restarts and nodes in practice, and free on the hot path.
const prefix = randomBytes(4).toString('hex');
let counter = 0;
const ids = new WeakMap<IncomingMessage, string>();
const CLIENT_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The id that ties a request's log lines to what its client saw (the
 * `X-Request-Id` header of every error answer). A well-formed id sent by the
 * client or a proxy is kept; anything else is replaced, since the header is
 * attacker-controlled and ends up in logs.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    id = newRequestId(req);
    ids.set(req, id);
  }
  return id;
}

/**
 * A request's id without remembering it: the device edge (device-edge.ts)
 * makes it once per request and passes it along itself, which keeps the
 * poll's hot path free of the map above.
 */
export function newRequestId(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_ID_RE.test(sent) ? sent : `${prefix}-${(counter++).toString(36)}`;
}
