import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createDeviceEdge, jsonReply } from '../../server/http/device-edge.js';

/** A request as node:http hands it over: headers now, the body pushed later. */
function postOf(contentType = 'application/json'): IncomingMessage & Readable {
  // node:http does not destroy a request when its body ends (the answer is still to come).
  const req = new Readable({ read() {}, autoDestroy: false }) as IncomingMessage & Readable;
  Object.assign(req, { method: 'POST', url: '/t', headers: { 'content-type': contentType }, socket: { remoteAddress: '127.0.0.1' } });
  return req;
}

/** The answer as written: status, headers and body, and whether `end` was called. */
function responseOf() {
  const written: { status?: number; body?: unknown; ended: boolean } = { ended: false };
  const res = {
    statusCode: 200,
    headersSent: false,
    setHeader() {},
    destroy() {
      written.ended = true;
    },
    writeHead(status: number) {
      written.status = status;
      res.statusCode = status;
      res.headersSent = true;
    },
    end(body?: unknown) {
      written.body = body;
      written.ended = true;
    },
  };
  return { res: res as unknown as ServerResponse, written };
}

function edgeWith(core: (a: unknown, body: unknown) => unknown) {
  const finished: number[] = [];
  const aborted: string[] = [];
  const edge = createDeviceEdge({
    observer: { refused: (_ip, err) => err, finish: (o) => void finished.push(o.status), aborted: (o) => void aborted.push(o.route), databaseAway: () => false },
    logger: pino({ level: 'silent' }),
    maxJsonBytes: 1024,
  });
  edge.register({ route: '/t', methods: ['POST'], match: (url) => (url === '/t' ? true : undefined), auth: () => 'me', body: 'json', core, send: (answer) => jsonReply(200, answer) });
  return { edge, finished, aborted };
}

describe('device edge: a POST answered from memory waits for nothing but its body', () => {
  it('is answered in the turn its body ends: before the end listeners after it run, with no microtask between', async () => {
    const { edge, finished } = edgeWith((a, body) => ({ by: a, body }));
    const req = postOf();
    const { res, written } = responseOf();
    expect(edge.serve(req, res)).toBe(true);
    const atEnd = new Promise<boolean>((resolve) => req.once('end', () => resolve(written.ended)));
    req.push(Buffer.from('{"device_provides":{"device_type":"acc-board"}}'));
    req.push(null);
    // The edge's own 'end' listener was added first: it has answered when the next one runs.
    expect(await atEnd).toBe(true);
    expect(written.status).toBe(200);
    expect(JSON.parse(String(written.body))).toEqual({ by: 'me', body: { device_provides: { device_type: 'acc-board' } } });
    expect(finished).toEqual([200]);
  });

  it('a core that returns a promise is answered when it settles; a refused body and a throwing core end once, as errors', async () => {
    const later = edgeWith(async (_a, body) => body);
    const req = postOf();
    const { res, written } = responseOf();
    later.edge.serve(req, res);
    req.push(Buffer.from('[1]'));
    req.push(null);
    await new Promise((r) => setTimeout(r, 20));
    expect([written.status, JSON.parse(String(written.body))]).toEqual([200, [1]]);
    expect(later.finished).toEqual([200]);

    const refused = edgeWith(() => 'never');
    const bad = postOf('text/plain');
    const r2 = responseOf();
    refused.edge.serve(bad, r2.res);
    await new Promise((r) => setTimeout(r, 20));
    expect(r2.written.status).toBe(415);
    expect(refused.finished).toEqual([415]);

    const throwing = edgeWith(() => {
      throw new Error('core failed');
    });
    const req3 = postOf();
    const r3 = responseOf();
    throwing.edge.serve(req3, r3.res);
    req3.push(Buffer.from('{}'));
    req3.push(null);
    await new Promise((r) => setTimeout(r, 20));
    expect(r3.written.status).toBe(500);
    expect(throwing.finished).toEqual([500]);
  });

  it('a body over the limit while it streams is 413, once; a client gone before its body ended is counted aborted, once, and answered nothing', async () => {
    const big = edgeWith(() => 'never');
    const req = postOf();
    const { res, written } = responseOf();
    big.edge.serve(req, res);
    req.push(Buffer.alloc(2000, 0x20));
    req.push(null);
    await new Promise((r) => setTimeout(r, 20));
    expect(written.status).toBe(413);
    expect([big.finished, big.aborted]).toEqual([[413], []]);

    const gone = edgeWith(() => 'never');
    const req2 = postOf();
    const r2 = responseOf();
    gone.edge.serve(req2, r2.res);
    req2.push(Buffer.from('{"half":'));
    await new Promise((r) => setTimeout(r, 5));
    req2.emit('close');
    await new Promise((r) => setTimeout(r, 20));
    expect(r2.written.status).toBeUndefined();
    expect([gone.finished, gone.aborted]).toEqual([[], ['/t']]);
  });
});
