/** The JSON API (protocol §7) with the operator's own token; every error body is `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type Api = <T>(method: Method, path: string, body?: unknown) => Promise<T>;

/**
 * A client bound to one token. The token travels only in the Authorization
 * header (protocol §10: never in a URL). `onUnauthorized` runs on any 401,
 * so an expired or revoked token ends the session with a message.
 */
export function apiClient(token: string, onUnauthorized: (message: string) => void): Api {
  return async <T>(method: Method, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network', 'the server could not be reached');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : 'http_' + res.status;
    const message = typeof err?.message === 'string' ? err.message : `${res.status} ${res.statusText}`;
    if (res.status === 401) onUnauthorized(message);
    throw new ApiError(res.status, code, message);
  };
}

/** All pages of a cursor-paged list (protocol §7 `?limit=&cursor=`). */
export async function allPages<T>(api: Api, path: string, key: string, limit = 1000, max = 100): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < max; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: Record<string, unknown> = await api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...((page[key] as T[] | undefined) ?? []));
    cursor = (page.nextCursor as string | null | undefined) ?? null;
    if (!cursor) break;
  }
  return out;
}

export const enc = encodeURIComponent;
