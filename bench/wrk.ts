import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load.js';

/**
 * wrk (C, epoll, one thread) as the load generator where it is installed
 * (Debian: `apt-get install -y wrk`): it needs a fraction of the CPU
 * autocannon needs per request, so on a small machine it steals far less
 * of the server's core. Each request still names another device: the
 * requests are written to a file (one per line: method, path, then headers
 * and an optional `BODY ` field, tab-separated; a JSON body holds no raw tab
 * or newline) that the Lua script below reads once and cycles through, so a
 * POST scenario (reports, enrollment, Mender's `next`) is driven the same way.
 */
export const wrkAvailable = (): boolean => {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return r.error === undefined && /^wrk /m.test(`${r.stdout}${r.stderr}`);
};

const LUA = `
local reqs, n, i = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local method, path, body, headers, f = nil, nil, nil, {}, 0
    for field in string.gmatch(line, "[^\\t]+") do
      f = f + 1
      if f == 1 then method = field
      elseif f == 2 then path = field
      elseif string.sub(field, 1, 5) == "BODY " then body = string.sub(field, 6)
      else
        local k, v = string.match(field, "^([^:]+): (.*)$")
        headers[k] = v
      end
    end
    n = n + 1
    reqs[n] = wrk.format(method, path, headers, body)
  end
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
`;

/** How many distinct requests a list holds before it wraps: enough for 10 s at any rate this machine reaches. */
const MAX_LIST = 300_000;

let runs = 0;

export async function runWrk(spec: LoadSpec, dir: string, listLength: number): Promise<LoadResult> {
  // One script and list per run: two runs at once (two nodes) must not rewrite a file the other wrk is reading
  // (it then loaded half a script and sent its default `GET /`).
  const run = `${process.pid}-${process.hrtime.bigint()}-${++runs}`;
  const script = join(dir, `requests-${run}.lua`);
  writeFileSync(script, LUA);
  const list = join(dir, `requests-${run}.tsv`);
  const lines: string[] = [];
  for (let k = 0; k < Math.min(listLength, MAX_LIST); k++) {
    const r = spec.request(k);
    if (r.body !== undefined && /[\t\n\r]/.test(r.body)) throw new Error(`${spec.name}: a body for wrk holds no tab or newline`);
    lines.push([spec.method ?? 'GET', r.path, ...Object.entries(r.headers ?? {}).map(([h, v]) => `${h}: ${v}`), ...(r.body !== undefined ? [`BODY ${r.body}`] : [])].join('\t'));
  }
  writeFileSync(list, `${lines.join('\n')}\n`);
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationSeconds}s`, '--timeout', '10s', '-s', script, spec.url, '--', list];
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.stderr.on('data', (d: Buffer) => (text += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text.slice(-500)}`))));
  });
  const m = /WRK_JSON (\{.*\})/.exec(out);
  if (!m) throw new Error(`no summary from wrk: ${out.slice(-500)}`);
  const s = JSON.parse(m[1] as string) as { requests: number; durationUs: number; connect: number; read: number; write: number; status: number; timeout: number; p50: number; p99: number };
  return {
    name: spec.name,
    rps: s.requests / (s.durationUs / 1e6),
    p50: s.p50 / 1000,
    p99: s.p99 / 1000,
    ok: s.requests - s.status,
    non2xx: s.status,
    errors: s.connect + s.read + s.write + s.timeout,
    requests: s.requests,
    generator: 'wrk',
  };
}
