import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardRoutes } from '../../server/dashboard/dashboard-routes.js';
import { errorHandler } from '../../server/http/error-handler.js';
import { makeApp, tempDir } from '../helpers/fixtures.js';

const appFor = (dir: string) => {
  const app = express();
  app.use(dashboardRoutes(dir));
  app.use(errorHandler(pino({ level: 'silent' })));
  return app;
};

describe('the dashboard files at /ui/ (protocol §10)', () => {
  it('serves the page and its hashed assets with the CSP, and nothing else', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/ui/assets/app-1234.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    const app = appFor(dir);
    const page = await request(app).get('/ui/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const bare = await request(app).get('/ui');
    expect([bare.status, bare.headers.location]).toEqual([301, '/ui/']);
    const asset = await request(app).get('/ui/assets/app-1234.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect(asset.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    for (const path of ['/ui/assets/missing.js', '/ui/index.html', '/ui/assets/../index.html', '/ui/anything']) {
      const res = await request(app).get(path);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code: 'not_found' });
    }
  });

  it('says the dashboard is not built (503) rather than failing when dist/ui is missing', async () => {
    const res = await request(appFor(join(tempDir(), 'nothing-here'))).get('/ui/');
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 503, code: 'unavailable' });
  });

  it('is public in the full app, while the data behind it needs a token', async () => {
    const f = await makeApp();
    expect((await request(f.app).get('/ui/assets/missing.js')).status).toBe(404);
    expect((await request(f.app).get('/v1/rollouts')).status).toBe(401);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe|\*/);
  });
});
