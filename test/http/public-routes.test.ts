import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../server/protocol/trust/settings-policy.js';
import { parseRoot } from '../../server/protocol/trust/root.js';
import { makeApp } from '../helpers/fixtures.js';

describe('public routes (no token)', () => {
  it('/healthz answers 200 with the trust versions', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', db: 'ok', rootVersion: 1, policyVersion: 1 });
  });

  it.each(['/v1/trust/root', '/v1/trust/root/1'])('%s serves the signed root v1', async (path) => {
    const f = await makeApp();
    const res = await request(f.app).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const root = parseRoot(res.body);
    expect(root.signed).toEqual(f.trust.root);
    expect(root.signatures).toHaveLength(1);
  });

  it('/v1/trust/policy serves the signed policy', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/trust/policy');
    expect(res.status).toBe(200);
    expect(parsePolicy(res.body).signed.settings['cloud.messaging.enabled']).toMatchObject({ consent: true, safeValue: false });
  });

  it.each(['2', '0', '01', 'abc', '99999999999', '-1', '1.0'])('/v1/trust/root/%s is 404 with the error body', async (v) => {
    const f = await makeApp();
    const res = await request(f.app).get(`/v1/trust/root/${v}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
