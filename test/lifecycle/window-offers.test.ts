import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { act, createRollout, enroll, FAILURE_POLICY, poll, publish } from '../helpers/fleet.js';
import { makeKeys, offerOf } from '../agent/agent-fixtures.js';
import { deviceOn, fakeServerFor } from '../agent/agent-harness.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';

const RELEASE = 'redmi-1s-cloud-optin-2014-08';
const NIGHTS = { start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' };

describe('maintenance windows on the wire (protocol §7)', () => {
  it('outside the window an offer carries installAfter (the next opening); inside it does not', async () => {
    const f = await makeApp({ now: new Date('2026-11-24T12:00:00Z') });
    await publish(f);
    await createRollout(f, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000, window: NIGHTS }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, 'r1', 'start')).status).toBe(200);
    const token = await enroll(f.app, f.tokens.enroller, 'd1');
    const closed = (await poll(f.app, 'd1', token)).body as { updates: { installAfter?: string }[] };
    expect(closed.updates).toHaveLength(1);
    expect(closed.updates[0]?.installAfter).toBe('2026-11-25T01:00:00Z');

    f.clock.now = new Date('2026-11-25T01:30:00Z');
    const open = (await poll(f.app, 'd1', token)).body as { updates: Record<string, unknown>[] };
    expect(open.updates).toHaveLength(1);
    expect(open.updates[0]).not.toHaveProperty('installAfter');

    const status = (await request(f.app).get('/v1/rollouts/r1/status').set(bearer(f.tokens.viewer))).body as { stages: { window: unknown; windowNow: string }[] };
    expect(status.stages[0]).toMatchObject({ window: NIGHTS, windowNow: 'open now (every day 02:00–05:00 Europe/Berlin); closes 2026-11-25T04:00:00Z' });
  });

  it('refuses an unknown time zone or a malformed window with 400 naming the stage', async () => {
    const f = await makeApp();
    await publish(f);
    for (const window of [{ ...NIGHTS, timeZone: 'Mars/Olympus' }, { ...NIGHTS, start: '2:00' }, { ...NIGHTS, days: ['monday'] }, { start: '02:00', end: '03:00' }]) {
      const res = await request(f.app).post('/v1/rollouts').set(bearer(f.tokens['release-manager'])).send({ releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000, window }], failurePolicy: FAILURE_POLICY });
      expect(res.status, JSON.stringify(window)).toBe(400);
      expect(JSON.stringify(res.body)).toContain('/stages/0');
    }
  });

  it('`ota rollout status` says in words when the window opens', async () => {
    const s = await listen(await makeApp({ now: new Date('2026-11-24T12:00:00Z') }));
    await publish(s);
    await createRollout(s, { id: 'r1', releaseId: RELEASE, stages: [{ cohort: 'all', basisPoints: 10000, window: { ...NIGHTS, days: ['sat', 'sun'] } }], failurePolicy: FAILURE_POLICY });
    expect((await act(s, 'r1', 'start')).status).toBe(200);
    const out = (await ota(['rollout', 'status', 'r1'], { env: { OTA_SERVER: s.url, OTA_TOKEN: s.tokens.viewer } })).out;
    expect(out).toContain('stage 1 maintenance window: closed; installs may start at 2026-11-28T01:00:00Z (2026-11-28 02:00 Europe/Berlin, in 4 days)');
  });
});

describe('the device agent waits for installAfter', () => {
  const keys = makeKeys();
  it('starts nothing (no report) before installAfter and installs once it has passed', async () => {
    const offer = { ...(offerOf(keys) as object), installAfter: '2026-11-24T11:45:00Z' };
    const server = await fakeServerFor(keys, [offer]);
    const d = deviceOn(server, keys);
    const early = await d.agent.checkAndApply();
    expect(early.outcomes.map((o) => o.result)).toEqual(['waiting']);
    expect(server.reports).toEqual([]);
    expect(d.agent.snapshot().etag).toBeUndefined();
    d.clock.now = new Date('2026-11-24T11:45:01Z');
    
    const later = await d.agent.checkAndApply();
    expect(later.outcomes.map((o) => o.result)).toEqual(['applied']);
  });
});
