import request from 'supertest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp } from '../helpers/fixtures.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/**
 * Full collections, with time between them for the closed sockets and handles to be released, until
 * `ref` is empty or 5 s pass. Each collection runs before the read in its turn: a WeakRef keeps
 * what it returned alive until the end of the job that read it.
 */
const collected = async (ref: WeakRef<object>): Promise<boolean> => {
  for (const until = Date.now() + 5000; Date.now() < until; ) {
    await new Promise((done) => setTimeout(done, 20));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
};

describe('/metrics: the process families once per process, the app families per app', () => {
  it('two apps in one process each serve the process families once, beside their own', async () => {
    const a = await makeApp();
    const b = await makeApp();
    for (const f of [a, b]) {
      const text = (await request(f.app).get('/metrics').set(bearer(f.tokens.viewer))).text;
      for (const family of ['ota_process_cpu_user_seconds_total', 'ota_nodejs_eventloop_lag_seconds', 'ota_http_requests_total']) {
        expect(text.split('\n').filter((l) => l === `# TYPE ${family} ${family.endsWith('_total') ? 'counter' : 'gauge'}`)).toHaveLength(1);
      }
    }
    expect(a.ctx.metrics.registry).not.toBe(b.ctx.metrics.registry);
  });

  let stopped: WeakRef<object> | undefined;
  it('builds, uses and stops an app', async () => {
    const f = await makeApp();
    expect((await request(f.app).get('/metrics').set(bearer(f.tokens.viewer))).status).toBe(200);
    stopped = new WeakRef(f.ctx.metrics.registry);
    // makeApp stops the context and closes its database once this test is finished.
  });

  it('a stopped app is not kept alive by its metrics (a process builds many: tests, embedders)', async () => {
    expect(stopped).toBeDefined();
    expect(await collected(stopped as WeakRef<object>)).toBe(true);
  });
});
