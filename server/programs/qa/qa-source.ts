import { createHttpTransport } from '../agent/http-transport.js';
import { TransportError, type Transport } from '../agent/ports.js';

/** Why `ota qa verify` cannot go on at all (unreachable server, refused token, unknown rollout). */
export class QaError extends Error {
  override readonly name = 'QaError';
}

export interface QaSourceOptions {
  server: string;
  /** Operator token with read access (role qa, viewer, release-manager or admin). */
  token: string;
  fetch?: typeof fetch;
  /** Page size for the device list and the audit log (protocol §7 paging; at most 1000). */
  pageLimit?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const errorText = (json: unknown): string => {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return e && typeof e.message === 'string' ? `${String(e.code)}: ${e.message}` : 'no error body';
};

export type QaSource = ReturnType<typeof createQaSource>;

/**
 * What `ota qa verify` reads from the server, through the protocol §7 API
 * only. Answers are returned as untrusted JSON: every check parses and
 * verifies them itself.
 */
export function createQaSource(o: QaSourceOptions) {
  const http: Transport = createHttpTransport({ baseUrl: o.server, token: o.token, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const limit = o.pageLimit ?? 1000;

  async function get(path: string, allow404 = false): Promise<unknown> {
    let res;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await http.get(path);
      } catch (e) {
        // A GET is safe to repeat: a pooled connection the server closed at the wrong moment is not an answer.
        if (!(e instanceof TransportError)) throw e;
        if (attempt >= 3) throw new QaError(`cannot reach ${o.server}: ${e.message}`);
      }
    }
    if (res.status === 200) return res.json;
    if (res.status === 404 && allow404) return undefined;
    if (res.status === 401 || res.status === 403) {
      throw new QaError(`GET ${path} answered ${res.status} (${errorText(res.json)}): qa verify needs an operator token with read access (role qa)`);
    }
    throw new QaError(`GET ${path} answered ${res.status} (${errorText(res.json)})`);
  }

  function pageOf<T>(json: unknown, field: string, path: string): Page<T> {
    const body = json as Record<string, unknown> | undefined;
    const items = body?.[field];
    const next = body?.nextCursor;
    if (!Array.isArray(items) || (next !== null && next !== undefined && typeof next !== 'string')) throw new QaError(`GET ${path}: answer has no ${field} array and nextCursor`);
    return { items: items as T[], nextCursor: typeof next === 'string' ? next : null };
  }

  async function* pages<T>(base: string, field: string): AsyncGenerator<T[]> {
    let cursor: string | null = null;
    const seen = new Set<string>();
    for (;;) {
      const path: string = `${base}${base.includes('?') ? '&' : '?'}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: Page<T> = pageOf<T>(await get(path), field, path);
      if (page.items.length) yield page.items;
      if (page.nextCursor === null || page.items.length === 0) return;
      if (seen.has(page.nextCursor)) throw new QaError(`GET ${base}: the cursor ${page.nextCursor} came back twice`);
      seen.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  const id = encodeURIComponent;
  return {
    /** GET /v1/trust/root/{n}; undefined when the server has no such version (404). */
    rootVersion: (n: number) => get(`/v1/trust/root/${n}`, true),
    currentRoot: () => get('/v1/trust/root'),
    policy: () => get('/v1/trust/policy'),
    rollout: async (rolloutId: string) => {
      const r = await get(`/v1/rollouts/${id(rolloutId)}`, true);
      if (r === undefined) throw new QaError(`no rollout ${rolloutId} on ${o.server}`);
      return r;
    },
    release: (releaseId: string) => get(`/v1/releases/${id(releaseId)}`, true),
    status: (rolloutId: string) => get(`/v1/rollouts/${id(rolloutId)}/status`),
    devicePages: (rolloutId: string) => pages<unknown>(`/v1/rollouts/${id(rolloutId)}/devices`, 'devices'),
    auditPages: () => pages<unknown>('/v1/audit', 'entries'),
  };
}
