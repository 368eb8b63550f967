import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { bearer } from '../helpers/fixtures.js';
import { act, poll, report } from '../helpers/fleet.js';
import { advanceClock, enrollAll, idsWhere, reportOf, scenario } from '../rollouts/scenario.js';

describe('a report must be backed by an offer', () => {
  it('refuses, and stores nothing from, a device the rollout would never offer its release to', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 1000 }] });
    const [outside] = idsWhere(s.salt, 'outside', 1, (b) => b >= 1000);
    const tokens = await enrollAll(s.f, [outside as string]);
    const res = await report(s.f.app, outside as string, tokens.get(outside as string) as string, reportOf(s, 1, 'failed'));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('unprocessable');
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
    expect(status.body.counts.failed).toBe(0);
    expect(status.body.offered).toBe(0);
  });

  it('accepts a report whose offer record was lost, when the device is eligible (even on its new version)', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 1000 }] });
    const [inside] = idsWhere(s.salt, 'inside', 1, (b) => b < 1000);
    const tokens = await enrollAll(s.f, [inside as string], 'redmi-1s', '1.4.3');
    // Never polled: no offer row exists, as after a crash lost the write-behind.
    const res = await report(s.f.app, inside as string, tokens.get(inside as string) as string, reportOf(s, 1, 'applied'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
    expect(status.body.counts.applied).toBe(1);
    expect(status.body.stages[0].offered).toBe(1);
  });

  it('proves the offer from memory when the stage cohort needs no member list, reading no memberships', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 1000 }] });
    const inside = idsWhere(s.salt, 'inside', 3, (b) => b < 1000);
    const tokens = await enrollAll(s.f, inside, 'redmi-1s', '1.4.3');
    const reads = vi.spyOn(s.f.ctx.cohorts, 'cohortsOf');
    // Never polled, sent at once (in one group or several): each proves its offer (protocol §5) without a read.
    const answers = await Promise.all(inside.map((id) => report(s.f.app, id, tokens.get(id) as string, reportOf(s, 1, 'applied'))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(reads).not.toHaveBeenCalled();
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
    expect(status.body.stages[0].offered).toBe(3);
  });
});

describe('dwell time', () => {
  it('restarts when a paused stage resumes, so a stage dwells its minimum while running', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000, minDwellSeconds: 600, autoAdvance: true }, { cohort: 'all', basisPoints: 10000 }] });
    expect((await act(s.f, s.rolloutId, 'pause')).status).toBe(200);
    advanceClock(s.f, 900);
    expect((await act(s.f, s.rolloutId, 'resume')).status).toBe(200);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.currentStage).toBe(0);
    advanceClock(s.f, 600);
    await s.f.ctx.health.tick();
    expect((await s.f.ctx.rollouts.get(s.rolloutId))?.currentStage).toBe(1);
  });
});

describe('401 names its scheme', () => {
  it('answers an invalid device token with WWW-Authenticate: Bearer', async () => {
    const s = await scenario();
    const res = await poll(s.f.app, 'dev-1', 'dev_not-a-real-token-at-all-000000');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
