import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ROLES } from '../../server/auth/principal.js';
import { foldSeconds, timelineIntervalSeconds } from '../../server/rollouts/rollout-timeline.js';
import { bearer, makeApp } from '../helpers/fixtures.js';
import { act, createCohort, createRollout, FAILURE_POLICY, poll, publish, report } from '../helpers/fleet.js';
import { advanceClock, enrollAll, RELEASE_ID, reportOf, scenario } from '../rollouts/scenario.js';

describe('GET /v1/whoami (the dashboard learns its role)', () => {
  it('names every operator role with its token id, a device as a device, and refuses no or bad tokens with 401', async () => {
    const f = await makeApp();
    const ids = new Map((await f.ctx.operatorTokens.page(0, 100)).map((t) => [t.name, t.id]));
    for (const role of OPERATOR_ROLES) {
      const res = await request(f.app).get('/v1/whoami').set(bearer(f.tokens[role]));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ kind: 'operator', name: `test-${role}`, role, tokenId: ids.get(`test-${role}`) });
    }
    const [device] = [...(await enrollAll(f, ['who-1'])).values()];
    expect((await request(f.app).get('/v1/whoami').set(bearer(device as string))).body).toEqual({ kind: 'device', deviceId: 'who-1' });
    expect((await request(f.app).get('/v1/whoami')).status).toBe(401);
    const bad = await request(f.app).get('/v1/whoami').set(bearer('ota_not-a-token'));
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 401, code: 'unauthorized' });
  });
});

describe('GET /v1/rollouts/{id}/timeline (failure rate over time, protocol §5 figures)', () => {
  it('keeps net changes per interval whose running totals equal the status figures', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 9000, minTerminalReports: 100, reportTimeoutSeconds: 3600 } });
    const tokens = await enrollAll(s.f, ['t-1', 't-2', 't-3', 't-4']);
    const send = async (id: string, seq: number, state: string) => {
      const res = await report(s.f.app, id, tokens.get(id) as string, reportOf(s, seq, state, state === 'failed' ? { error: { code: 'e', message: 'm' } } : {}));
      expect(res.status, res.text).toBe(200);
    };
    for (const id of tokens.keys()) await poll(s.f.app, id, tokens.get(id) as string);
    await send('t-1', 1, 'applied');
    await send('t-2', 1, 'failed');
    await send('t-3', 1, 'installing'); // not terminal: no change
    advanceClock(s.f, 120);
    await send('t-4', 1, 'failed');
    await send('t-2', 2, 'applied'); // a retry that worked: one failure less, same terminal count

    const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/timeline`).set(bearer(s.f.tokens.viewer));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      rolloutId: s.rolloutId,
      // Two minutes of changes fit in 120 one-second intervals.
      intervalSeconds: 1,
      maxFailureBasisPoints: 9000,
      minTerminalReports: 100,
      points: [
        { at: '2026-11-24T12:00:00Z', terminalDelta: 2, failuresDelta: 1, terminal: 2, failures: 1, rateBasisPoints: 5000 },
        { at: '2026-11-24T12:02:00Z', terminalDelta: 1, failuresDelta: 0, terminal: 3, failures: 1, rateBasisPoints: 3333 },
      ],
    });
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.viewer));
    expect({ terminal: status.body.failure.terminal, failures: status.body.failure.failures }).toEqual({ terminal: 3, failures: 1 });

    // limit keeps the latest intervals; the totals before them still count.
    const last = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/timeline?limit=1`).set(bearer(s.f.tokens.qa));
    expect(last.body.points).toEqual([{ at: '2026-11-24T12:02:00Z', terminalDelta: 1, failuresDelta: 0, terminal: 3, failures: 1, rateBasisPoints: 3333 }]);
  });

  it('counts devices that time out as failures in the second they are marked', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 9000, minTerminalReports: 100, reportTimeoutSeconds: 60 } });
    const tokens = await enrollAll(s.f, ['slow-1']);
    await poll(s.f.app, 'slow-1', tokens.get('slow-1') as string);
    expect((await report(s.f.app, 'slow-1', tokens.get('slow-1') as string, reportOf(s, 1, 'downloading'))).status).toBe(200);
    advanceClock(s.f, 300);
    await s.f.ctx.health.tick();
    const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/timeline`).set(bearer(s.f.tokens.viewer));
    expect(res.body.points).toEqual([{ at: '2026-11-24T12:05:00Z', terminalDelta: 1, failuresDelta: 1, terminal: 1, failures: 1, rateBasisPoints: 10000 }]);
  });

  it('fits its intervals to the span (issue 18): a young rollout draws a curve in seconds, an older one sums them into minutes', async () => {
    const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 9000, minTerminalReports: 100, reportTimeoutSeconds: 36000 } });
    const tokens = await enrollAll(s.f, ['y-1', 'y-2', 'y-3', 'y-4', 'y-5']);
    for (const id of tokens.keys()) await poll(s.f.app, id, tokens.get(id) as string);
    const send = async (id: string, state: string, after: number, seq = 1) => {
      advanceClock(s.f, after);
      const res = await report(s.f.app, id, tokens.get(id) as string, reportOf(s, seq, state, state === 'failed' ? { error: { code: 'e', message: 'm' } } : {}));
      expect(res.status, res.text).toBe(200);
    };
    const timeline = async () => (await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/timeline`).set(bearer(s.f.tokens.viewer))).body;
    // Twenty seconds of reports: per minute this was one point, a flat line.
    await send('y-1', 'applied', 0);
    await send('y-2', 'failed', 5);
    await send('y-3', 'failed', 5);
    await send('y-4', 'applied', 10);
    const young = await timeline();
    expect(young.intervalSeconds).toBe(1);
    expect(young.points.map((p: { at: string; rateBasisPoints: number }) => [p.at, p.rateBasisPoints])).toEqual([
      ['2026-11-24T12:00:00Z', 0],
      ['2026-11-24T12:00:05Z', 5000],
      ['2026-11-24T12:00:10Z', 6666],
      ['2026-11-24T12:00:20Z', 5000],
    ]);
    // Three hours on, 120 intervals of two minutes cover the span: the first sums the four seconds above.
    await send('y-5', 'applied', 3 * 3600);
    const older = await timeline();
    expect(older.intervalSeconds).toBe(120);
    expect(older.points).toEqual([
      { at: '2026-11-24T12:00:00Z', terminalDelta: 4, failuresDelta: 2, terminal: 4, failures: 2, rateBasisPoints: 5000 },
      { at: '2026-11-24T15:00:00Z', terminalDelta: 1, failuresDelta: 0, terminal: 5, failures: 2, rateBasisPoints: 4000 },
    ]);
    // Charted in minutes from now on, its seconds were summed into minutes for good: the same figures from fewer rows.
    const rows = () => s.f.ctx.sql.all<{ minute: number; terminal: number; failures: number }>('SELECT minute, terminal, failures FROM rollout_intervals WHERE rollout_id = ? ORDER BY minute', [s.rolloutId]);
    expect(await rows()).toEqual([
      { minute: Date.parse('2026-11-24T12:00:00Z'), terminal: 4, failures: 2 },
      { minute: Date.parse('2026-11-24T15:00:00Z'), terminal: 1, failures: 0 },
    ]);
    expect((await timeline()).points).toEqual(older.points);
    // A report arriving after the fold is a second again, folded by the next read; the figures still equal status.
    await send('y-2', 'applied', 7, 2);
    expect((await timeline()).points.at(-1)).toEqual({ at: '2026-11-24T15:00:00Z', terminalDelta: 1, failuresDelta: -1, terminal: 5, failures: 1, rateBasisPoints: 2000 });
    expect(await rows()).toHaveLength(2);
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.viewer));
    expect({ terminal: status.body.failure.terminal, failures: status.body.failure.failures }).toEqual({ terminal: 5, failures: 1 });
  });

  it.each([[1, 1], [60, 1], [120, 60], [3600, 60], [7200, 3600], [86_400, 3600]])('an interval of %i s lets rows be folded into %i s', (interval, grain) => {
    expect(foldSeconds(interval)).toBe(grain);
  });

  it('folding trims a span by less than a grain, which never brings the interval below that grain', () => {
    for (let span = 0; span < 40 * 86_400; span += 37) {
      const grain = foldSeconds(timelineIntervalSeconds(span));
      if (grain > 1 && timelineIntervalSeconds(span - grain + 1) < grain) expect.fail(`a span of ${span} s folded into ${grain} s`);
    }
  });

  it.each([
    [0, 1], [120, 1], [121, 5], [600, 5], [3600, 30], [7200, 60], [86_400, 900], [7 * 86_400, 7200], [365 * 86_400, 86_400],
  ])('a span of %i s is charted in intervals of %i s', (span, interval) => {
    expect(timelineIntervalSeconds(span)).toBe(interval);
  });

  it('answers 404 for an unknown rollout and 400 for a bad limit or id, an empty list before any terminal report', async () => {
    const s = await scenario();
    const get = (path: string) => request(s.f.app).get(path).set(bearer(s.f.tokens.viewer));
    expect((await get(`/v1/rollouts/${s.rolloutId}/timeline`)).body.points).toEqual([]);
    expect((await get('/v1/rollouts/no-such/timeline')).status).toBe(404);
    for (const bad of ['0', '10081', 'x', '-1']) {
      const res = await get(`/v1/rollouts/${s.rolloutId}/timeline?limit=${bad}`);
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 400, code: 'bad_request' });
    }
    expect((await get('/v1/rollouts/Bad%20Id/timeline')).status).toBe(400);
  });
});

describe('failing devices carry their error as the device sent it', () => {
  it('GET /v1/rollouts/{id}/devices?state=failed gives the latest report error, markup untouched', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['bad-1', 'good-1']);
    const evil = '<script>alert(1)</script>';
    expect((await report(s.f.app, 'bad-1', tokens.get('bad-1') as string, reportOf(s, 1, 'failed', { error: { code: 'install_failed', message: evil } }))).status).toBe(200);
    expect((await report(s.f.app, 'good-1', tokens.get('good-1') as string, reportOf(s, 1, 'applied'))).status).toBe(200);
    const failed = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/devices?state=failed`).set(bearer(s.f.tokens.qa));
    expect(failed.headers['content-type']).toMatch(/^application\/json/);
    expect(failed.body.devices.map((d: { deviceId: string; error: unknown }) => [d.deviceId, d.error])).toEqual([['bad-1', { code: 'install_failed', message: evil }]]);
    const applied = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/devices?state=applied`).set(bearer(s.f.tokens.qa));
    expect(applied.body.devices[0].error).toBeNull();
  });
});

describe('GET /v1/audit: newest first, and one subject', () => {
  it('pages newest first with a cursor, filters by subject, and refuses a bad order', async () => {
    const s = await scenario();
    await act(s.f, s.rolloutId, 'pause');
    await act(s.f, s.rolloutId, 'resume');
    const get = (q: string) => request(s.f.app).get(`/v1/audit?${q}`).set(bearer(s.f.tokens.viewer));
    const all = (await get('limit=1000')).body.entries as { seq: number; subject: string; action: string }[];
    const seqs = all.map((e) => e.seq);
    const first = await get('order=desc&limit=2');
    expect(first.body.entries.map((e: { seq: number }) => e.seq)).toEqual(seqs.slice(-2).reverse());
    const next = await get(`order=desc&limit=2&cursor=${first.body.nextCursor}`);
    expect(next.body.entries.map((e: { seq: number }) => e.seq)).toEqual(seqs.slice(-4, -2).reverse());
    const mine = await get(`order=desc&subject=${s.rolloutId}`);
    expect(mine.body.entries.map((e: { action: string }) => e.action)).toEqual(['rollout.resume', 'rollout.pause', 'rollout.start', 'rollout.create']);
    expect((await get(`subject=${s.rolloutId}&limit=1`)).body.entries[0].action).toBe('rollout.create');
    for (const q of ['order=sideways', 'order=desc&cursor=abc', `subject=${'x'.repeat(300)}`]) {
      const res = await get(q);
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 400, code: 'bad_request' });
    }
  });
});

describe('operators look devices up: GET /v1/devices/{id} and GET /v1/devices', () => {
  async function fleet() {
    // Stage 1 reaches the bench only (dev-a, dev-c); dev-b is in `all` but the rollout never got there.
    const f = await makeApp();
    await publish(f);
    await createCohort(f, { name: 'bench', members: ['dev-a', 'dev-c'] });
    const r = await createRollout(f, { releaseId: RELEASE_ID, stages: [{ cohort: 'bench', basisPoints: 10000 }, { cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    expect((await act(f, r.id, 'start')).status).toBe(200);
    const s = { f, rolloutId: r.id, salt: r.salt };
    const tokens = await enrollAll(s.f, ['dev-a', 'dev-b', 'dev-c']);
    const other = await enrollAll(s.f, ['dev-d'], 'redmi-2', '2.0.0');
    for (const [id, t] of tokens) await poll(s.f.app, id, t);
    expect((await report(s.f.app, 'dev-a', tokens.get('dev-a') as string, reportOf(s, 1, 'downloading'))).status).toBe(200);
    expect((await report(s.f.app, 'dev-a', tokens.get('dev-a') as string, reportOf(s, 2, 'failed', { error: { code: 'disk_full', message: 'no space' } }))).status).toBe(200);
    await s.f.ctx.activity.flushAll();
    return { s, tokens: new Map([...tokens, ...other]) };
  }

  it('shows one device: model, version, cohorts, last seen, and its reports per rollout', async () => {
    const { s } = await fleet();
    const res = await request(s.f.app).get('/v1/devices/dev-a').set(bearer(s.f.tokens.qa));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deviceId: 'dev-a', model: 'redmi-1s', version: '1.4.1', cohorts: ['all', 'bench'], lastSeen: '2026-11-24T12:00:00Z', lastSeq: 2 });
    expect(res.body.rollouts).toEqual([
      {
        rolloutId: s.rolloutId,
        releaseId: 'redmi-1s-cloud-optin-2014-08',
        rolloutState: 'running',
        stage: 0,
        offeredAt: '2026-11-24T12:00:00Z',
        state: 'failed',
        stateAt: '2026-11-24T12:00:00Z',
        error: { code: 'disk_full', message: 'no space' },
        reports: [
          { seq: 2, state: 'failed', at: '2026-11-24T12:00:00Z', receivedAt: '2026-11-24T12:00:00Z', version: null, error: { code: 'disk_full', message: 'no space' } },
          { seq: 1, state: 'downloading', at: '2026-11-24T12:00:00Z', receivedAt: '2026-11-24T12:00:00Z', version: null, error: null },
        ],
      },
    ]);
    const unreported = await request(s.f.app).get('/v1/devices/dev-d').set(bearer(s.f.tokens.viewer));
    expect(unreported.body).toMatchObject({ deviceId: 'dev-d', model: 'redmi-2', cohorts: ['all'], rollouts: [], lastSeq: null });
    expect((await request(s.f.app).get('/v1/devices/nobody').set(bearer(s.f.tokens.viewer))).status).toBe(404);
    expect((await request(s.f.app).get('/v1/devices/-bad').set(bearer(s.f.tokens.viewer))).status).toBe(400);
  });

  it('lists devices by model, cohort, rollout and state, paged by id', async () => {
    const { s } = await fleet();
    const ids = async (q: string) => {
      const res = await request(s.f.app).get(`/v1/devices?${q}`).set(bearer(s.f.tokens.viewer));
      expect(res.status, res.text).toBe(200);
      return res.body as { devices: { deviceId: string }[]; nextCursor: string | null };
    };
    const list = (b: { devices: { deviceId: string }[] }) => b.devices.map((d) => d.deviceId);
    expect(list(await ids(''))).toEqual(['dev-a', 'dev-b', 'dev-c', 'dev-d']);
    expect((await ids('')).nextCursor).toBeNull();
    expect(list(await ids('model=redmi-2'))).toEqual(['dev-d']);
    expect(list(await ids('cohort=bench'))).toEqual(['dev-a', 'dev-c']);
    expect(list(await ids('state=failed'))).toEqual(['dev-a']);
    expect(list(await ids(`rollout=${s.rolloutId}&state=silent`))).toEqual(['dev-c']);
    expect(list(await ids('state=silent'))).toEqual(['dev-c']);
    expect(list(await ids(`rollout=${s.rolloutId}`))).toEqual(['dev-a', 'dev-c']);
    const page1 = await ids('limit=2');
    expect([list(page1), page1.nextCursor]).toEqual([['dev-a', 'dev-b'], 'dev-b']);
    const page2 = await ids('limit=2&cursor=dev-b');
    expect([list(page2), page2.nextCursor]).toEqual([['dev-c', 'dev-d'], null]); // the walk saw the end
    expect(await ids('limit=2&cursor=dev-d')).toEqual({ devices: [], nextCursor: null });
    expect((await ids('model=redmi-1s')).devices[0]).toEqual({
      deviceId: 'dev-a', model: 'redmi-1s', version: '1.4.1', attributes: {}, enrolledAt: '2026-11-24T12:00:00Z', lastSeen: '2026-11-24T12:00:00Z',
    });
  });

  it('refuses bad filters (400), unknown cohorts and rollouts (404), and device tokens (403)', async () => {
    const { s, tokens } = await fleet();
    const get = (q: string, token = s.f.tokens.viewer) => request(s.f.app).get(`/v1/devices${q}`).set(bearer(token));
    for (const q of ['?state=bogus', '?model=%3Cscript%3E', '?limit=0', '?limit=1001', '?colour=red', '?cohort=UPPER']) {
      const res = await get(q);
      expect({ q, status: res.status, code: res.body.error.code }).toEqual({ q, status: 400, code: expect.stringMatching(/^(bad_request|validation_failed)$/) });
    }
    expect((await get('?cohort=no-such')).status).toBe(404);
    expect((await get('?rollout=no-such')).status).toBe(404);
    const device = tokens.get('dev-a') as string;
    for (const path of ['', '/dev-a', '/dev-b']) {
      const res = await get(path, device);
      expect({ path, status: res.status, code: res.body.error.code }).toEqual({ path, status: 403, code: 'forbidden' });
    }
    // The device's own fast paths under the same prefix still answer it.
    expect((await poll(s.f.app, 'dev-a', device)).status).toBe(200);
  });

  it('a filter that matches little still answers each request after a bounded walk, with a cursor to go on', async () => {
    const f = await makeApp();
    const ids = Array.from({ length: 2600 }, (_, i) => `walk-${String(i).padStart(5, '0')}`);
    const at = f.clock.now.getTime();
    await f.ctx.sql.transaction(async () => {
      for (const id of ids) (await f.ctx.devices.insert({ id, model: id === 'walk-02500' ? 'rare-1' : 'redmi-1s', version: '1.0.0', attributes: {} }, Buffer.from(id), at));
    });
    const first = await request(f.app).get('/v1/devices?model=rare-1').set(bearer(f.tokens.viewer));
    expect(first.body).toEqual({ devices: [], nextCursor: 'walk-01999' });
    const second = await request(f.app).get(`/v1/devices?model=rare-1&cursor=${first.body.nextCursor}`).set(bearer(f.tokens.viewer));
    expect(second.body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['walk-02500']);
    expect(second.body.nextCursor).toBeNull();
  });
});
