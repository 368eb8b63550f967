import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  requests: number;
}

export interface LoadSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  connections: number;
  durationSeconds: number;
  /** Called per request: path, headers and body of the i-th request. */
  request: (i: number) => { path: string; headers?: Record<string, string>; body?: string };
}

/** One autocannon run; each request is built by `spec.request` so ids, tokens and seqs vary. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let i = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    requests: [
      {
        method: spec.method ?? 'GET',
        setupRequest: (req) => {
          const r = spec.request(i++);
          return { ...req, path: r.path, headers: { ...(req.headers ?? {}), ...(r.headers ?? {}) }, ...(r.body !== undefined ? { body: r.body } : {}) };
        },
      },
    ],
  });
  const ok = result['2xx'] + result['3xx'];
  return {
    name: spec.name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    non2xx: result.non2xx - result['3xx'],
    errors: result.errors + result.timeouts,
    requests: result.requests.total,
  };
}
