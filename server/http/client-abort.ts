import type { IncomingMessage } from 'node:http';

/**
 * True when a request failed because its client went away (closed the
 * connection mid-body): normal traffic on a fleet of phones, not a server
 * fault. It is logged at debug and counted apart from 5xx answers.
 */
export function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  const e = err as { code?: string; type?: string; message?: string } | null;
  if (e?.type === 'request.aborted' || e?.code === 'ECONNRESET' || e?.code === 'ECONNABORTED' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  return (req.destroyed || req.socket?.destroyed === true) && !req.complete;
}
