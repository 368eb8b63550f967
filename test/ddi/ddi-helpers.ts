import { createHash } from 'node:crypto';
import request from 'supertest';
import { expect } from 'vitest';
import { bearer, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, publish } from '../helpers/fleet.js';

export const TENANT = 'DEFAULT';
export const MODEL = 'acc-board';
export const RELEASE = 'acc-board-2.0.0';

export const gw = (token: string) => ({ Authorization: `GatewayToken ${token}` });
export const target = (token: string) => ({ Authorization: `TargetToken ${token}` });
export const base = (id: string, tenant = TENANT) => `/${tenant}/controller/v1/${id}`;

export const hex = (algorithm: string, bytes: Buffer): string => createHash(algorithm).update(bytes).digest('hex');

/** Uploads `bytes` under `name`, publishes a release pinning them and starts a rollout of `stages`. */
export async function ddiRollout(
  f: AppFixture,
  opts: { bytes: Buffer; name?: string; id?: string; stages?: { cohort: string; basisPoints: number; window?: Record<string, string> }[]; failurePolicy?: Record<string, number>; releaseId?: string; mandatory?: boolean },
): Promise<{ rolloutId: string; sha256: string }> {
  const up = await request(f.app).put(`/v1/artifacts${opts.name ? `?name=${opts.name}` : ''}`).set(bearer(f.tokens['release-manager'])).type('application/octet-stream').send(opts.bytes);
  expect(up.status, JSON.stringify(up.body)).toBe(201);
  const sha256 = (up.body as { sha256: string }).sha256;
  const releaseId = opts.releaseId ?? RELEASE;
  await publish(f, { id: releaseId, models: [MODEL], appliesTo: '>=1.0.0 <2.0.0', version: '2.0.0', settings: [], artifact: { sha256, size: opts.bytes.length }, mandatory: opts.mandatory ?? false });
  const r = await createRollout(f, {
    id: opts.id ?? 'acc-rollout', releaseId, stages: opts.stages ?? [{ cohort: 'all', basisPoints: 10000 }],
    failurePolicy: opts.failurePolicy ?? { maxFailureBasisPoints: 2000, minTerminalReports: 5, reportTimeoutSeconds: 3600 },
  });
  expect((await act(f, r.id, 'start')).status).toBe(200);
  return { rolloutId: r.id, sha256 };
}

export const feedbackOf = (execution: string, finished: string, details: string[] = []) => ({ id: '1', time: '20261124T120000', status: { execution, result: { finished, progress: { cnt: 0, of: 0 } }, details } });

/** The action id the base poll links (deploymentBase or cancelAction), or undefined. */
export function linkedAction(body: { _links?: Record<string, { href: string }> }, rel: 'deploymentBase' | 'cancelAction'): number | undefined {
  const href = body._links?.[rel]?.href;
  if (href === undefined) return undefined;
  const m = new RegExp(`/${rel}/([0-9]+)$`).exec(href);
  return m ? Number(m[1]) : undefined;
}
