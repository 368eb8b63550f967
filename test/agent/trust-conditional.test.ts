import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport } from '../../server/programs/agent/http-transport.js';
import type { Transport } from '../../server/programs/agent/ports.js';
import { refreshTrust } from '../../server/programs/agent/trust-client.js';
import { makeApp } from '../helpers/fixtures.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('trust documents: conditional GETs', () => {
  it('the server answers a matching If-None-Match with 304 for the root, each version and the policy', async () => {
    const f = await makeApp();
    for (const path of ['/v1/trust/root', '/v1/trust/root/1', '/v1/trust/policy']) {
      const first = await request(f.app).get(path);
      expect(first.status).toBe(200);
      expect(first.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      const again = await request(f.app).get(path).set('If-None-Match', first.headers.etag as string);
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
    }
  });

  it('a device re-checking its policy gets a 304 and keeps the policy it verified', async () => {
    const f = await makeApp();
    const server = createServer(f.app).listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    const http = createHttpTransport({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const statuses: number[] = [];
    const counting: Transport = {
      ...http,
      get: async (path, headers) => {
        const res = await http.get(path, headers);
        if (path === '/v1/trust/policy') statuses.push(res.status);
        return res;
      },
    };
    const pinned = JSON.parse((await request(f.app).get('/v1/trust/root/1')).text);
    const first = await refreshTrust(counting, { root: pinned }, f.clock.now);
    expect(first.problems).toEqual([]);
    expect(first.policyEtag).toBeDefined();
    const second = await refreshTrust(counting, { root: first.root, policy: first.policy, policyEtag: first.policyEtag }, f.clock.now);
    expect(second.problems).toEqual([]);
    expect(second.policy).toEqual(first.policy);
    expect(statuses).toEqual([200, 304]);
  });
});
