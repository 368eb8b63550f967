import request from 'supertest';
import { expect } from 'vitest';
import type { AppFixture } from './fixtures.js';
import { bearer, releaseBody, signWith } from './fixtures.js';
import type { ReleaseSigned } from '../../server/protocol/release-manifest.js';

type App = AppFixture['app'];

export async function publish(f: AppFixture, over: Partial<ReleaseSigned> = {}) {
  const res = await request(f.app).post('/v1/releases').set(bearer(f.tokens['release-manager'])).send(signWith(releaseBody(over), f.trust.releaseKeys));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; manifestSha256: string };
}

export async function enroll(app: App, enrollerToken: string, deviceId: string, model = 'redmi-1s', version = '1.4.1', attributes?: Record<string, string>) {
  const res = await request(app).post('/v1/devices').set(bearer(enrollerToken)).send({ deviceId, model, version, ...(attributes ? { attributes } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { deviceToken: string }).deviceToken;
}

export async function createCohort(f: AppFixture, body: Record<string, unknown>) {
  const res = await request(f.app).post('/v1/cohorts').set(bearer(f.tokens['release-manager'])).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

export async function createRollout(f: AppFixture, body: Record<string, unknown>) {
  const res = await request(f.app).post('/v1/rollouts').set(bearer(f.tokens['release-manager'])).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; salt: string };
}

export async function act(f: AppFixture, id: string, action: string, token = f.tokens['release-manager']) {
  return request(f.app).post(`/v1/rollouts/${id}/${action}`).set(bearer(token));
}

export const poll = (app: App, deviceId: string, token: string, version = '1.4.1') =>
  request(app).get(`/v1/devices/${deviceId}/update`).query({ version }).set(bearer(token));

export const report = (app: App, deviceId: string, token: string, body: unknown) =>
  request(app).post(`/v1/devices/${deviceId}/reports`).set(bearer(token)).send(body as object);

export const FAILURE_POLICY = { maxFailureBasisPoints: 2000, minTerminalReports: 5, reportTimeoutSeconds: 3600 };
