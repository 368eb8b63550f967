import type { IncomingMessage } from 'node:http';

/** At most this much of a refused body is read and thrown away before the connection is cut. */
export const LINGER_BYTES = 16 * 1024 * 1024;
/** ...and for at most this long. */
export const LINGER_MS = 10_000;

const discarding = new WeakSet<IncomingMessage>();

/**
 * A lingering close, as nginx does: a body refused before it was read
 * (413) is read and discarded, up to `maxBytes` and `maxMs`, so the client
 * finishes sending and then reads the answer. Closing at once made common
 * clients (Node's fetch, for one) fail with EPIPE and never see the 413
 * (issue 20). Past either bound the connection is cut: what a client may
 * make the server read stays bounded. A body read to its end leaves the
 * connection usable (its framing is intact), so no `Connection: close`.
 */
export function discardRest(req: IncomingMessage, maxBytes = LINGER_BYTES, maxMs = LINGER_MS): void {
  if (req.complete || req.destroyed || discarding.has(req)) return;
  discarding.add(req);
  let seen = 0;
  const cut = (): void => void req.socket?.destroy();
  const timer = setTimeout(cut, maxMs).unref();
  const done = (): void => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) {
      done();
      cut();
    }
  });
  req.once('end', done);
  req.once('close', done);
  req.resume();
}

/** Whether the rest of this request's body is being discarded (the answer must not close the connection early). */
export const isDiscarding = (req: IncomingMessage): boolean => discarding.has(req);
