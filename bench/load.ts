import { Agent, request as httpRequest } from 'node:http';
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
  /** Which load generator measured it. */
  generator?: 'wrk' | 'autocannon' | 'sequential';
  /** Server CPU time (user + system) per answered request, microseconds. */
  cpuUsPerRequest?: number;
  /** The part of it spent in the kernel (socket reads and writes, fsync). */
  cpuSystemUsPerRequest?: number;
  /** SQLite statements the server executed per answered request. */
  statementsPerRequest?: number;
  /** The server's event-loop delay during the load and its drain (ms): how long anything held the loop. */
  loopDelayMs?: { p99: number; max: number };
  /** After the load ended: how long the server took to drain its write-behind, and the statements that took (included above). */
  drainedAfter?: { ms: number; statements: number };
}

export interface LoadSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  connections: number;
  durationSeconds: number;
  /** Called per request: path, headers and body of the i-th request. */
  request: (i: number) => { path: string; headers?: Record<string, string>; body?: string };
  /**
   * The status an idempotent scenario's answers must have (load generators count only non-2xx): a few
   * of its requests are sent once before the load, and a different status stops the bench.
   */
  expectStatus?: number;
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
    generator: 'autocannon',
  };
}

/**
 * Latency as one client sees it: `count` requests one after another on a
 * keep-alive connection, timed to the microsecond (autocannon's histogram
 * has millisecond resolution, too coarse for sub-millisecond reads).
 */
export async function runSequential(spec: LoadSpec & { count: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(spec.url);
  const times: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  for (let k = 0; k < spec.count; k++) {
    const r = spec.request(k);
    const t0 = process.hrtime.bigint();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ agent, host: url.hostname, port: url.port, path: r.path, method: spec.method ?? 'GET', headers: r.headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(r.body);
      });
      if (status >= 200 && status < 400) ok++;
      else non2xx++;
    } catch {
      errors++;
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { name: spec.name, rps: spec.count / seconds, p50: at(0.5), p99: at(0.99), ok, non2xx, errors, requests: spec.count, generator: 'sequential' };
}
