import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

/** A tiny HTTP client for tests that talk to a real listening server. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  raw?: Uint8Array;
  headers?: Record<string, string>;
}

/**
 * One connection per request (no keep-alive) by default: an idle pooled socket that the
 * server closes just as the client reuses it would fail a test with
 * ECONNRESET for reasons that have nothing to do with what is tested. A test
 * that needs its requests on one connection (one process of several sharing
 * a port) passes a keep-alive `agent`.
 */
export function client(baseUrl: string, agent: Agent | false = false) {
  return (method: string, path: string, opts: CallOptions = {}): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...opts.headers };
      if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
      let payload: Uint8Array | undefined;
      if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = Buffer.from(JSON.stringify(opts.json));
      } else if (opts.raw) {
        headers['Content-Type'] = 'application/octet-stream';
        payload = opts.raw;
      }
      if (payload) headers['Content-Length'] = payload.length;
      const req = request(`${baseUrl}${path}`, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
