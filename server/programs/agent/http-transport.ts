import { TransportError, type ByteResponse, type Transport, type TransportResponse } from './ports.js';

export interface HttpTransportOptions {
  /** e.g. https://ota.example.com (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` to the base URL's origin only. */
  token?: string;
  fetch?: typeof fetch;
  /** Per JSON request (default 30 s); byte streams have none. */
  timeoutMs?: number;
}

const isAbsolute = (url: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(url);

/**
 * The agent's HTTP client over the global `fetch` (Node 20, browsers, React
 * Native). Network failures and unparseable 2xx bodies become TransportError;
 * every other status is returned for the caller to judge.
 */
export function createHttpTransport(o: HttpTransportOptions): Transport {
  const doFetch = o.fetch ?? globalThis.fetch;
  const base = o.baseUrl.replace(/\/+$/, '');
  const origin = new URL(base).origin;
  const urlOf = (pathOrUrl: string): string => (isAbsolute(pathOrUrl) ? pathOrUrl : `${base}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`);
  const auth = (url: string): Record<string, string> => (o.token && new URL(url).origin === origin ? { Authorization: `Bearer ${o.token}` } : {});

  async function send(method: string, path: string, headers: Record<string, string>, body?: unknown, timeout = true): Promise<Response> {
    const url = urlOf(path);
    try {
      return await doFetch(url, {
        method,
        headers: { ...auth(url), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeout ? AbortSignal.timeout(o.timeoutMs ?? 30_000) : undefined,
      });
    } catch (e) {
      throw new TransportError(`${method} ${path}: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  async function jsonOf(method: string, path: string, res: Response): Promise<TransportResponse> {
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new TransportError(`${method} ${path}: body cut short`, res.status, { cause: e });
    }
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch (e) {
        if (res.ok) throw new TransportError(`${method} ${path}: answered ${res.status} with a body that is not JSON`, res.status, { cause: e });
      }
    }
    return { status: res.status, header: (n) => res.headers.get(n), json };
  }

  async function* chunks(res: Response): AsyncIterable<Uint8Array> {
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  return {
    get: async (path, headers = {}) => jsonOf('GET', path, await send('GET', path, headers)),
    post: async (path, body) => jsonOf('POST', path, await send('POST', path, {}, body)),
    stream: async (url, headers = {}): Promise<ByteResponse> => {
      const res = await send('GET', url, headers, undefined, false);
      return { status: res.status, header: (n) => res.headers.get(n), body: chunks(res) };
    },
  };
}
