import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, releaseBody, signWith } from '../helpers/fixtures.js';
import { act, poll } from '../helpers/fleet.js';
import { advanceClock, enrollAll, idsWhere, scenario, type Scenario } from '../rollouts/scenario.js';

interface PollBody {
  updates: { release: { signed: { id: string } }; rollout: { signed: { stage: number; version: number; issuedAt: string } } }[];
  pollAfterSeconds: number;
}

/** A rollout at 50% then 100% of `all`; `inside` passes the first stage's bucket test, `outside` does not. */
async function setup(): Promise<Scenario & { inside: string; outside: string; tokens: Map<string, string> }> {
  const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 5000 }, { cohort: 'all', basisPoints: 10000 }] });
  const [inside] = idsWhere(s.salt, 'in', 1, (b) => b < 5000) as [string];
  const [outside] = idsWhere(s.salt, 'out', 1, (b) => b >= 5000) as [string];
  const tokens = await enrollAll(s.f, [inside, outside]);
  return { ...s, inside, outside, tokens };
}

const pollWith = (s: Scenario & { tokens: Map<string, string> }, id: string, etag?: string, version = '1.4.1') => {
  const req = poll(s.f.app, id, s.tokens.get(id) as string, version);
  return etag === undefined ? req : req.set('If-None-Match', etag);
};

describe('poll ETag and If-None-Match (protocol §7)', () => {
  it('answers with a strong ETag that is stable while nothing changes, and 304 with no body for it', async () => {
    const s = await setup();
    const first = await pollWith(s, s.inside);
    expect(first.status).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect((first.body as PollBody).updates).toHaveLength(1);

    const again = await pollWith(s, s.inside);
    expect(again.headers.etag).toBe(etag);
    expect(again.text).toBe(first.text);

    const notModified = await pollWith(s, s.inside, etag);
    expect(notModified.status).toBe(304);
    expect(notModified.text ?? '').toBe('');
    expect(notModified.headers['content-length'] ?? '0').toBe('0');
    expect(notModified.headers.etag).toBe(etag);

    // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): a proxy that weakened the tag still gets a 304.
    expect((await pollWith(s, s.inside, `W/${etag}`)).status).toBe(304);
    // A list of tags matches when one of them does; another tag does not.
    expect((await pollWith(s, s.inside, `"nope", ${etag}`)).status).toBe(304);
    const stale = await pollWith(s, s.inside, '"0123456789abcdef0123456789abcdef"');
    expect(stale.status).toBe(200);
    expect(stale.text).toBe(first.text);
  });

  it('a device with nothing to install gets an empty list with its own ETag, and 304 for it', async () => {
    const s = await setup();
    const res = await pollWith(s, s.outside);
    expect(res.status).toBe(200);
    expect((res.body as PollBody).updates).toEqual([]);
    expect(typeof (res.body as PollBody).pollAfterSeconds).toBe('number');
    expect((await pollWith(s, s.outside, res.headers.etag as string)).status).toBe(304);
  });

  it('advancing the rollout changes the ETag: re-signed for a device already in, a new offer for one that was out', async () => {
    const s = await setup();
    const inBefore = await pollWith(s, s.inside);
    const outBefore = await pollWith(s, s.outside);
    expect((await act(s.f, s.rolloutId, 'advance')).status).toBe(200);

    const inAfter = await pollWith(s, s.inside, inBefore.headers.etag as string);
    expect(inAfter.status).toBe(200);
    expect(inAfter.headers.etag).not.toBe(inBefore.headers.etag);
    const [before] = (inBefore.body as PollBody).updates;
    const [after] = (inAfter.body as PollBody).updates;
    expect(after?.rollout.signed.stage).toBe(0);
    expect(after?.rollout.signed.version).toBeGreaterThan(before?.rollout.signed.version as number);

    const outAfter = await pollWith(s, s.outside, outBefore.headers.etag as string);
    expect(outAfter.status).toBe(200);
    expect(outAfter.headers.etag).not.toBe(outBefore.headers.etag);
    expect((outAfter.body as PollBody).updates.map((u) => u.rollout.signed.stage)).toEqual([1]);
  });

  it('re-signing before expiry (resignExpiring with the clock moved) changes the ETag; too early it changes nothing', async () => {
    const s = await setup();
    const first = await pollWith(s, s.inside);
    advanceClock(s.f, 60);
    expect((await s.f.ctx.rolloutService.resignExpiring())).toBe(0);
    expect((await pollWith(s, s.inside, first.headers.etag as string)).status).toBe(304);

    // Default TTL 1 h: past half of it the statements are re-signed.
    advanceClock(s.f, 31 * 60);
    expect((await s.f.ctx.rolloutService.resignExpiring())).toBe(1);
    const res = await pollWith(s, s.inside, first.headers.etag as string);
    expect(res.status).toBe(200);
    expect(res.headers.etag).not.toBe(first.headers.etag);
    const statement = (res.body as PollBody).updates[0]?.rollout.signed;
    expect(statement?.issuedAt).toBe('2026-11-24T12:32:00Z');
    expect(statement?.version).toBeGreaterThan((first.body as PollBody).updates[0]?.rollout.signed.version as number);
  });

  it('halting changes the ETag and the answer becomes empty', async () => {
    const s = await setup();
    const before = await pollWith(s, s.inside);
    expect((await act(s.f, s.rolloutId, 'halt')).status).toBe(200);
    const after = await pollWith(s, s.inside, before.headers.etag as string);
    expect(after.status).toBe(200);
    expect((after.body as PollBody).updates).toEqual([]);
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });

  it('the installed version is part of the answer: out of appliesTo, no offer and another ETag', async () => {
    const s = await setup();
    const ok = await pollWith(s, s.inside, undefined, '1.4.1');
    const upgraded = await pollWith(s, s.inside, ok.headers.etag as string, '1.4.3');
    expect(upgraded.status).toBe(200);
    expect((upgraded.body as PollBody).updates).toEqual([]);
    expect(upgraded.headers.etag).not.toBe(ok.headers.etag);
  });

  it('a 304 poll still records lastSeen and the installed version', async () => {
    const s = await setup();
    const first = await pollWith(s, s.inside);
    await s.f.ctx.activity.flushAll();
    advanceClock(s.f, 600);
    expect((await pollWith(s, s.inside, first.headers.etag as string)).status).toBe(304);
    await s.f.ctx.activity.flushAll();
    expect((await s.f.ctx.devices.lastSeen(s.inside))).toBe(s.f.clock.now.getTime());
    expect((await s.f.ctx.devices.get(s.inside))?.version).toBe('1.4.1');
  });
});

describe('paused rollouts serve no new offers (protocol §5)', () => {
  it('a device offered before the pause keeps its offer (flushed or not); a new one gets nothing until resume', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }] });
    const [early, buffered, late] = ['early', 'buffered', 'late'];
    const tokens = await enrollAll(s.f, [early, buffered, late] as string[]);
    const ask = (id: string) => poll(s.f.app, id, tokens.get(id) as string);
    expect((await ask(early as string)).body.updates).toHaveLength(1);
    await s.f.ctx.activity.flushAll();
    // This offer is still only in the write-behind buffer when the pause lands.
    expect((await ask(buffered as string)).body.updates).toHaveLength(1);
    expect((await act(s.f, s.rolloutId, 'pause')).status).toBe(200);

    expect((await ask(early as string)).body.updates).toHaveLength(1);
    expect((await ask(buffered as string)).body.updates).toHaveLength(1);
    expect((await ask(late as string)).body.updates).toEqual([]);
    await s.f.ctx.activity.flushAll();
    expect((await s.f.ctx.rolloutDevices.wasOffered(s.rolloutId, late as string))).toBe(false);

    expect((await act(s.f, s.rolloutId, 'resume')).status).toBe(200);
    expect((await ask(late as string)).body.updates).toHaveLength(1);
  });

  it('a cancelled rollout serves nothing', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }] });
    const tokens = await enrollAll(s.f, ['c1']);
    expect((await poll(s.f.app, 'c1', tokens.get('c1') as string)).body.updates).toHaveLength(1);
    expect((await act(s.f, s.rolloutId, 'cancel')).status).toBe(200);
    expect((await poll(s.f.app, 'c1', tokens.get('c1') as string)).body.updates).toEqual([]);
  });
});

describe('several rollouts at once (protocol §5)', () => {
  it('a device is offered every release it is eligible for, ordered by issuedAt', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }] });
    const { f } = s;
    // A hotfix issued earlier than the slow rollout's release, published second.
    const hot = signWith(releaseBody({ id: 'hotfix-1', issuedAt: '2026-11-20T10:00:00Z', settings: [] }), f.trust.releaseKeys);
    expect((await request(f.app).post('/v1/releases').set(bearer(f.tokens['release-manager'])).send(hot)).status).toBe(201);
    const r2 = await request(f.app).post('/v1/rollouts').set(bearer(f.tokens['release-manager']))
      .send({ releaseId: 'hotfix-1', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 100, minTerminalReports: 10, reportTimeoutSeconds: 60 } });
    expect(r2.status).toBe(201);
    expect((await act(f, (r2.body as { id: string }).id, 'start')).status).toBe(200);
    const tokens = await enrollAll(f, ['both']);
    const res = await poll(f.app, 'both', tokens.get('both') as string);
    expect((res.body as PollBody).updates.map((u) => u.release.signed.id)).toEqual(['hotfix-1', 'redmi-1s-cloud-optin-2014-08']);
  });
});
