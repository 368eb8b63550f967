import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../server/config.js';
import { bearer } from '../helpers/fixtures.js';
import { act, createRollout, FAILURE_POLICY, poll, report } from '../helpers/fleet.js';
import { enrollAll, RELEASE_ID, reportOf, scenario, type Scenario } from '../rollouts/scenario.js';
import { latestStatesAgree, recountCounters, storedCounters } from './recount.js';

const DEVICE = 'rep-1';

async function setup(config: Partial<Config> = {}) {
  const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }], config });
  const tokens = await enrollAll(s.f, [DEVICE, 'rep-2']);
  await poll(s.f.app, DEVICE, tokens.get(DEVICE) as string);
  const token = tokens.get(DEVICE) as string;
  const send = (body: unknown) => report(s.f.app, DEVICE, token, body);
  return { s, token, tokens, send };
}

/** Everything a refused report could have changed. */
async function snapshot(s: Scenario) {
  // Polls are written behind (any ingest flushes them first): settle them so only the report's effects show.
  await s.f.ctx.activity.flushAll();
  const { sql } = s.f.ctx;
  return {
    counters: await storedCounters(sql, s.rolloutId),
    reports: await sql.all('SELECT device_id, seq, body FROM reports ORDER BY device_id, seq'),
    devices: await sql.all('SELECT id, last_seq FROM devices ORDER BY id'),
    rolloutDevices: await sql.all('SELECT device_id, state, state_at, settings FROM rollout_devices ORDER BY device_id'),
    rollout: (await s.f.ctx.rollouts.get(s.rolloutId)),
  };
}

const expectSpecError = (res: request.Response, status: number, code: string) => {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }, JSON.stringify(res.body)).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as { error: { code: string; message: string; details?: unknown[] } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message).not.toMatch(/\n\s+at /);
  if (body.error.details !== undefined) expect(Array.isArray(body.error.details)).toBe(true);
  return body.error;
};

describe('reports: accepted ones', () => {
  it('a single report, then a batch, are stored with counters that equal a recount', async () => {
    const { s, send } = await setup();
    const one = await send(reportOf(s, 1, 'received'));
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ accepted: 1, duplicates: 0, lastSeq: 1 });
    const batch = await send([reportOf(s, 2, 'downloading'), reportOf(s, 3, 'downloaded'), reportOf(s, 4, 'installing'), reportOf(s, 5, 'applied', { version: '1.4.3' })]);
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({ accepted: 4, duplicates: 0, lastSeq: 5 });
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, DEVICE))?.state).toBe('applied');
    expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
    expect(await latestStatesAgree(s.f.ctx.sql, s.rolloutId)).toEqual([]);
  });

  it('settings compliance counts each device once, at its latest (value, source); keys the release does not set are not counted', async () => {
    const { s, send, tokens } = await setup();
    const key = 'cloud.messaging.enabled';
    expect((await send(reportOf(s, 1, 'installing', { settings: { [key]: { value: true, source: 'user' }, 'display.brightness.auto': { value: true, source: 'user' } } }))).status).toBe(200);
    expect((await send(reportOf(s, 2, 'applied', { settings: { [key]: { value: false, source: 'default' } } }))).status).toBe(200);
    expect((await report(s.f.app, 'rep-2', tokens.get('rep-2') as string, reportOf(s, 1, 'applied', { settings: { [key]: { value: false, source: 'default' } } }))).status).toBe(200);
    const status = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
    expect((status.body as { settings: unknown }).settings).toEqual({ [key]: [{ value: false, source: 'default', devices: 2 }] });
    expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
  });

  it('applied → rolled_back is allowed; seq may skip numbers', async () => {
    const { s, send } = await setup();
    expect((await send(reportOf(s, 10, 'applied'))).status).toBe(200);
    expect((await send(reportOf(s, 20, 'rolled_back', { error: { code: 'boot_loop', message: 'rolled back after 3 failed boots' } }))).status).toBe(200);
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, DEVICE))?.state).toBe('rolled_back');
  });

  it('an identical duplicate (even with its keys in another order) is a no-op 200', async () => {
    const { s, send } = await setup();
    const body = reportOf(s, 1, 'downloading', { settings: { 'cloud.messaging.enabled': { value: false, source: 'default' } } });
    expect((await send(body)).status).toBe(200);
    const before = await snapshot(s);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const dup = await send(reordered);
    expect(dup.status).toBe(200);
    expect(dup.body).toEqual({ accepted: 0, duplicates: 1, lastSeq: 1 });
    // A batch replaying what is stored and adding one new report accepts only the new one.
    expect(await snapshot(s)).toEqual(before);
    const mixed = await send([body, reportOf(s, 2, 'downloaded')]);
    expect(mixed.body).toEqual({ accepted: 1, duplicates: 1, lastSeq: 2 });
  });
});

describe('reports: refused ones get the spec error body and change nothing', () => {
  type Case = {
    name: string;
    status: number;
    code: string;
    /** Reports stored first (all must be accepted). */
    before?: (s: Scenario) => unknown[];
    send: (s: Scenario) => { body?: unknown; raw?: string; contentType?: string };
    /** The refused batch entry the error must name. */
    index?: number;
  };

  const CASES: Case[] = [
    { name: 'malformed JSON', status: 400, code: 'invalid_json', send: () => ({ raw: '{"seq": 1, "state": ', contentType: 'application/json' }) },
    { name: 'a JSON scalar', status: 400, code: 'invalid_json', send: () => ({ raw: '"applied"', contentType: 'application/json' }) },
    { name: 'a charset other than UTF-8', status: 415, code: 'unsupported_media_type', send: (s) => ({ raw: JSON.stringify(reportOf(s, 1, 'applied')), contentType: 'application/json; charset=latin1' }) },
    { name: 'not JSON at all (text/plain)', status: 415, code: 'unsupported_media_type', send: (s) => ({ raw: JSON.stringify(reportOf(s, 1, 'applied')), contentType: 'text/plain' }) },
    {
      name: 'an oversized body',
      status: 413,
      code: 'payload_too_large',
      send: (s) => ({ body: Array.from({ length: 400 }, (_, i) => reportOf(s, i + 1, 'received', { error: { code: 'x', message: 'y'.repeat(1000) } })) }),
    },
    { name: 'an out-of-vocabulary state', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'exploded') }) },
    { name: 'the derived state timed_out, which a device may not report', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'timed_out') }) },
    { name: 'an unknown key', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'applied', { bonus: true }) }) },
    { name: 'a missing field', status: 400, code: 'validation_failed', send: (s) => ({ body: { seq: 1, rolloutId: s.rolloutId, state: 'applied', at: '2026-11-24T12:00:00Z' } }) },
    { name: 'a negative seq', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, -1, 'received') }) },
    { name: 'a fractional seq', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1.5, 'received') }) },
    { name: 'a timestamp that is not RFC 3339', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'received', { at: 'yesterday' }) }) },
    { name: 'an installed version that is not semver', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'applied', { version: 'one.two' }) }) },
    { name: 'a setting source outside default|user', status: 400, code: 'validation_failed', send: (s) => ({ body: reportOf(s, 1, 'applied', { settings: { 'cloud.messaging.enabled': { value: false, source: 'vendor' } } }) }) },
    { name: 'an empty batch', status: 400, code: 'validation_failed', send: () => ({ body: [] }) },
    {
      name: 'an out-of-order seq',
      status: 409,
      code: 'seq_conflict',
      before: (s) => [reportOf(s, 5, 'received')],
      send: (s) => ({ body: reportOf(s, 3, 'downloading') }),
    },
    {
      name: 'a conflicting duplicate (same seq, other body)',
      status: 409,
      code: 'seq_conflict',
      before: (s) => [reportOf(s, 1, 'downloading')],
      send: (s) => ({ body: reportOf(s, 1, 'failed') }),
    },
    {
      name: 'a backwards transition',
      status: 409,
      code: 'invalid_transition',
      before: (s) => [reportOf(s, 1, 'downloaded')],
      send: (s) => ({ body: reportOf(s, 2, 'received') }),
    },
    {
      name: 'a state after a final one',
      status: 409,
      code: 'invalid_transition',
      before: (s) => [reportOf(s, 1, 'applied')],
      send: (s) => ({ body: reportOf(s, 2, 'received') }),
    },
    {
      name: 'a batch whose third report has a bad state (schema)',
      status: 400,
      code: 'validation_failed',
      index: 2,
      send: (s) => ({ body: [reportOf(s, 1, 'received'), reportOf(s, 2, 'downloading'), reportOf(s, 3, 'melted'), reportOf(s, 4, 'applied')] }),
    },
    {
      name: 'a batch whose third report goes backwards',
      status: 409,
      code: 'invalid_transition',
      index: 2,
      send: (s) => ({ body: [reportOf(s, 1, 'received'), reportOf(s, 2, 'downloaded'), reportOf(s, 3, 'downloading'), reportOf(s, 4, 'applied')] }),
    },
    {
      name: 'a batch whose second report is out of order',
      status: 409,
      code: 'seq_conflict',
      index: 1,
      before: (s) => [reportOf(s, 1, 'received')],
      send: (s) => ({ body: [reportOf(s, 3, 'downloading'), reportOf(s, 2, 'downloaded')] }),
    },
    {
      name: 'a batch whose last report conflicts with a stored one',
      status: 409,
      code: 'seq_conflict',
      index: 1,
      before: (s) => [reportOf(s, 1, 'received')],
      send: (s) => ({ body: [reportOf(s, 2, 'downloading'), reportOf(s, 1, 'applied')] }),
    },
    { name: 'an unknown rollout', status: 422, code: 'unprocessable', send: (s) => ({ body: { ...reportOf(s, 1, 'received'), rolloutId: 'no-such-rollout' } }) },
    { name: 'a release the rollout does not ship', status: 422, code: 'unprocessable', send: (s) => ({ body: { ...reportOf(s, 1, 'received'), releaseId: 'some-other-release' } }) },
  ];

  it.each(CASES)('$name → $status $code', async (c) => {
    const { s, send, token } = await setup({ maxJsonBytes: 64 * 1024 });
    if (c.before) {
      const res = await send(c.before(s));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const before = await snapshot(s);
    const what = c.send(s);
    const res =
      what.raw !== undefined
        ? await request(s.f.app).post(`/v1/devices/${DEVICE}/reports`).set(bearer(token)).set('Content-Type', what.contentType as string).send(what.raw)
        : await send(what.body);
    const err = expectSpecError(res, c.status, c.code);
    if (c.index !== undefined) {
      // The refused report is named by its index in the batch.
      expect(err.details?.some((d) => (d as { path?: string }).path?.startsWith(`/${c.index}`)), JSON.stringify(err)).toBe(true);
    }
    expect(await snapshot(s)).toEqual(before);
  });

  it('a refused batch stores none of its reports, and its seqs stay free for the corrected batch', async () => {
    const { s, send } = await setup();
    const bad = await send([reportOf(s, 1, 'received'), reportOf(s, 2, 'installing'), reportOf(s, 3, 'downloading')]);
    expectSpecError(bad, 409, 'invalid_transition');
    expect((await s.f.ctx.sql.value('SELECT COUNT(*) FROM reports WHERE device_id = ?', [DEVICE]))).toBe(0);
    expect((await s.f.ctx.devices.get(DEVICE))?.lastSeq).toBe(-1);
    const good = await send([reportOf(s, 1, 'received'), reportOf(s, 2, 'downloading'), reportOf(s, 3, 'installing')]);
    expect(good.body).toEqual({ accepted: 3, duplicates: 0, lastSeq: 3 });
  });

  it('a report for a draft rollout is refused (422) and stores nothing', async () => {
    const { s, send } = await setup();
    const draft = await createRollout(s.f, { id: 'still-draft', releaseId: RELEASE_ID, stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: FAILURE_POLICY });
    const before = await snapshot(s);
    expectSpecError(await send({ ...reportOf(s, 1, 'received'), rolloutId: draft.id }), 422, 'unprocessable');
    expect(await snapshot(s)).toEqual(before);
  });

  it('a halted rollout still takes reports (devices tell what happened after the halt)', async () => {
    const { s, send } = await setup();
    expect((await act(s.f, s.rolloutId, 'halt')).status).toBe(200);
    expect((await send(reportOf(s, 1, 'failed'))).status).toBe(200);
  });

  it('group commit: a bad batch from one device does not refuse a good one arriving in the same turn', async () => {
    const { s, send, tokens } = await setup();
    const [bad, good] = await Promise.all([
      send([reportOf(s, 1, 'installing'), reportOf(s, 2, 'received')]),
      report(s.f.app, 'rep-2', tokens.get('rep-2') as string, [reportOf(s, 1, 'received'), reportOf(s, 2, 'applied')]),
    ]);
    expectSpecError(bad, 409, 'invalid_transition');
    expect(good.status).toBe(200);
    const stored = (await s.f.ctx.sql.all('SELECT device_id, seq FROM reports ORDER BY device_id, seq'));
    expect(stored).toEqual([{ device_id: 'rep-2', seq: 1 }, { device_id: 'rep-2', seq: 2 }]);
    expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
  });

  it('many concurrent requests from one device: each is all-or-nothing and the counters still equal a recount', async () => {
    const { s, send } = await setup();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => send(reportOf(s, i + 1, i < 19 ? 'downloading' : 'applied'))));
    for (const r of results) expect([200, 409]).toContain(r.status);
    expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
    expect(await latestStatesAgree(s.f.ctx.sql, s.rolloutId)).toEqual([]);
  });
});
