import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Hex } from '../../server/protocol/crypto/hash.js';
import type { AgentReport } from '../../server/programs/agent/reporter.js';
import type { FakeLog } from './fake-log.js';

/**
 * A tiny server speaking only what protocol §7 promises devices (the real
 * device routes are built elsewhere): trust documents, update polls with
 * ETag, reports, artifacts with Range, enrollment. Knobs let tests play an
 * attacker, a flaky network or a cut download.
 */
export interface FakeServer {
  url: string;
  deviceToken: string;
  enrollToken: string;
  /** roots[n - 1] is root version n. */
  roots: unknown[];
  policy: unknown;
  /**
   * Offers as served. With a `log`, an offer without its own `log` member
   * is logged and gets one against the latest checkpoint (protocol §8); an
   * offer that has the key (even undefined) is sent as it is.
   */
  offers: unknown[];
  log?: FakeLog;
  artifacts: Map<string, Uint8Array>;
  reports: AgentReport[];
  requests: { method: string; path: string; headers: IncomingHttpHeaders }[];
  /** Every request fails at the socket. */
  down: boolean;
  /** POST reports answers this status (and stores nothing) when set. */
  reportsStatus?: number;
  /** The next artifact response sends this many bytes, then the connection dies. */
  cutArtifactAfter?: number;
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'Content-Type': 'application/json' } : {}), ...headers });
  res.end(text);
};
const notFound = (res: ServerResponse) => send(res, 404, { error: { code: 'not_found', message: 'no such thing' } });

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export async function startFakeServer(init: { roots: unknown[]; policy: unknown; offers?: unknown[]; log?: FakeLog }): Promise<FakeServer> {
  const fake = {
    log: init.log,
    deviceToken: 'dev-token-1',
    enrollToken: 'enroll-token-1',
    roots: init.roots,
    policy: init.policy,
    offers: init.offers ?? [],
    artifacts: new Map<string, Uint8Array>(),
    reports: [] as AgentReport[],
    requests: [] as FakeServer['requests'],
    down: false,
  } as FakeServer;

  const authed = (req: IncomingMessage, token: string) => req.headers.authorization === `Bearer ${token}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    fake.requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, headers: req.headers });
    if (fake.down) return void req.socket.destroy();
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/v1\/trust\/root\/(\d+)$/.exec(p))) {
      const doc = fake.roots[Number(m[1]) - 1];
      return doc === undefined ? notFound(res) : send(res, 200, doc);
    }
    if (p === '/v1/trust/policy') return send(res, 200, fake.policy);
    if (p === '/v1/log/proof/consistency' && fake.log) {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      if (!(from >= 1 && from <= to && to <= fake.log.size)) return send(res, 400, { error: { code: 'bad_request', message: 'outside the log' } });
      return send(res, 200, { from, to, hashes: fake.log.consistency(from, to) });
    }
    if (p === '/v1/devices' && req.method === 'POST') {
      if (!authed(req, fake.enrollToken)) return send(res, 401, { error: { code: 'unauthorized', message: 'no' } });
      const body = (await bodyOf(req)) as { deviceId: string };
      return send(res, 201, { deviceToken: `${fake.deviceToken}`, deviceId: body.deviceId });
    }
    if ((m = /^\/v1\/devices\/([^/]+)\/(update|reports)$/.exec(p))) {
      if (!authed(req, fake.deviceToken)) return send(res, 401, { error: { code: 'unauthorized', message: 'no' } });
      if (m[2] === 'update') {
        const log = fake.log;
        const auto = (o: unknown): o is { release: unknown; rollout: unknown } => log !== undefined && o !== null && typeof o === 'object' && !Object.hasOwn(o, 'log');
        // Every envelope is logged first, so all offers carry the same checkpoint.
        for (const o of fake.offers) {
          if (auto(o)) {
            (log as FakeLog).add(o.release);
            (log as FakeLog).add(o.rollout);
          }
        }
        const updates = fake.offers.map((o) => (auto(o) ? { ...o, log: (log as FakeLog).member(o) } : o));
        const body = JSON.stringify({ updates, pollAfterSeconds: 60 });
        const etag = `"${sha256Hex(body).slice(0, 16)}"`;
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ETag: etag }).end();
        res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag });
        return void res.end(body);
      }
      const body = await bodyOf(req);
      if (fake.reportsStatus) return send(res, fake.reportsStatus, { error: { code: 'unavailable', message: 'later' } });
      const list = (Array.isArray(body) ? body : [body]) as AgentReport[];
      fake.reports.push(...list);
      return send(res, 200, { accepted: list.length });
    }
    if ((m = /^\/v1\/artifacts\/([0-9a-f]{64})$/.exec(p))) {
      const bytes = fake.artifacts.get(m[1] as string);
      if (!bytes) return notFound(res);
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (start >= bytes.length && bytes.length > 0) return send(res, 416, undefined, { 'Content-Range': `bytes */${bytes.length}` });
      const slice = bytes.subarray(start);
      const headers = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Content-Length': String(slice.length) };
      res.writeHead(req.headers.range ? 206 : 200, req.headers.range ? { ...headers, 'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : headers);
      if (fake.cutArtifactAfter !== undefined) {
        const cut = fake.cutArtifactAfter;
        delete fake.cutArtifactAfter;
        res.write(slice.subarray(0, cut));
        return void setTimeout(() => req.socket.destroy(), 20);
      }
      return void res.end(slice);
    }
    notFound(res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: { code: 'internal', message: 'fake server bug' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
