import request from 'supertest';
import { expect } from 'vitest';
import type { Config } from '../../server/config.js';
import { bucketOf } from '../../server/protocol/bucket.js';
import { toTimestamp } from '../../server/protocol/trust/time.js';
import { bearer, makeApp, type AppFixture } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, publish } from '../helpers/fleet.js';

export const RELEASE_ID = 'redmi-1s-cloud-optin-2014-08';

export interface StageInput {
  cohort: string;
  basisPoints: number;
  minDwellSeconds?: number;
  autoAdvance?: boolean;
}

export interface Scenario {
  f: AppFixture;
  rolloutId: string;
  salt: string;
}

/** An app with the example release published and a rollout created (and started unless `start: false`). */
export async function scenario(opts: {
  stages: StageInput[];
  failurePolicy?: typeof FAILURE_POLICY;
  start?: boolean;
  config?: Partial<Config>;
} = { stages: [{ cohort: 'all', basisPoints: 10000 }] }): Promise<Scenario> {
  const f = await makeApp({ config: opts.config });
  await publish(f);
  const r = await createRollout(f, { releaseId: RELEASE_ID, stages: opts.stages, failurePolicy: opts.failurePolicy ?? FAILURE_POLICY });
  if (opts.start !== false) expect((await act(f, r.id, 'start')).status).toBe(200);
  return { f, rolloutId: r.id, salt: r.salt };
}

/** The first `count` ids `prefix-N` whose bucket for `salt` satisfies `keep`. */
export function idsWhere(salt: string, prefix: string, count: number, keep: (bucket: number) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const id = `${prefix}-${i}`;
    if (keep(bucketOf(salt, id))) out.push(id);
  }
  return out;
}

/** Enrolls each id (model redmi-1s, 1.4.1 unless given) and returns id → token. */
export async function enrollAll(f: AppFixture, ids: readonly string[], model = 'redmi-1s', version = '1.4.1'): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const id of ids) tokens.set(id, await enroll(f.app, f.tokens.enroller, id, model, version));
  return tokens;
}

/** A report body for the scenario's rollout; `at` is the fixture clock. */
export function reportOf(s: Scenario, seq: number, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { seq, releaseId: RELEASE_ID, rolloutId: s.rolloutId, state, at: toTimestamp(s.f.clock.now), ...extra };
}

export const advanceClock = (f: AppFixture, seconds: number): void => {
  f.clock.now = new Date(f.clock.now.getTime() + seconds * 1000);
};

export async function statusOf(s: Scenario): Promise<StatusBody> {
  const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as StatusBody;
}

export async function devicesIn(s: Scenario, state: string): Promise<string[]> {
  const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/devices`).query({ state, limit: '1000' }).set(bearer(s.f.tokens.viewer));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId);
}

export interface StatusBody {
  id: string;
  state: string;
  stage: number;
  statementVersion: number;
  eligible: number | null;
  offered: number;
  reported: number;
  counts: Record<string, number>;
  failure: { terminal: number; failures: number; rateBasisPoints: number; maxFailureBasisPoints: number; minTerminalReports: number };
  settings: Record<string, { value: unknown; source: string; devices: number }[]>;
  compliance: { consentOnByDefault: number };
  stages: { stage: number; cohort: string; basisPoints: number; reached: boolean; eligible: number | null; offered: number; reported: number; silent: number }[];
  silentDevices: { deviceId: string; stage: number; offeredAt: string; lastSeen: string | null }[];
}
