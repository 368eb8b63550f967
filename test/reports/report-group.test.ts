import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Sql } from '../../server/db/sql.js';
import type { Device } from '../../server/devices/device-store.js';
import type { Report } from '../../server/protocol/report-rules.js';
import { bearer } from '../helpers/fixtures.js';
import { poll } from '../helpers/fleet.js';
import { enrollAll, reportOf, scenario, type Scenario } from '../rollouts/scenario.js';
import { latestStatesAgree, recountCounters, storedCounters } from './recount.js';

/** Counts the statements the stores send through `sql` (set-based or not) while `work` runs. */
async function statementsDuring(sql: Sql, work: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const methods = ['all', 'one', 'value', 'run'] as const;
  const originals = methods.map((m) => sql[m]);
  for (const m of methods) {
    const original = sql[m] as (...a: unknown[]) => Promise<unknown>;
    (sql as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
      n++;
      return original.apply(sql, a);
    };
  }
  try {
    await work();
  } finally {
    methods.forEach((m, i) => ((sql as unknown as Record<string, unknown>)[m] = originals[i]));
  }
  return n;
}

async function fleet(count: number): Promise<{ s: Scenario; devices: Device[]; tokens: Map<string, string> }> {
  const s = await scenario({ stages: [{ cohort: 'all', basisPoints: 10000 }] });
  const ids = Array.from({ length: count }, (_, i) => `grp-${i}`);
  const tokens = await enrollAll(s.f, ids);
  for (const id of ids) await poll(s.f.app, id, tokens.get(id) as string);
  await s.f.ctx.activity.flushAll();
  const devices = await Promise.all(ids.map(async (id) => (await s.f.ctx.devices.get(id)) as Device));
  return { s, devices, tokens };
}

/** One request per device, all in the same turn of the event loop: one group. */
const submitAll = (s: Scenario, devices: readonly Device[], seq: number, state: string, extra: (d: Device) => Record<string, unknown> = () => ({})) =>
  Promise.allSettled(devices.map((d) => s.f.ctx.ingest.submit(d, [reportOf(s, seq, state, extra(d)) as unknown as Report])));

describe('set-based group commit of reports (issue 20)', () => {
  it('a group is written with the same few statements whether it holds 3 requests or 30, and the counters still equal a recount', async () => {
    const small = await fleet(3);
    const large = await fleet(30);
    const settings = (d: Device) => ({ settings: { 'battery.saver.threshold': { value: 1000 + (Number(d.id.split('-')[1]) % 4), source: 'user' } } });
    const counts: number[] = [];
    for (const { s, devices } of [small, large]) {
      // First reports (new state, settings counted), then a second group moving every device on.
      counts.push(await statementsDuring(s.f.ctx.sql, async () => {
        const outcomes = await submitAll(s, devices, 1, 'downloading', settings);
        expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      }));
      counts.push(await statementsDuring(s.f.ctx.sql, async () => {
        const outcomes = await submitAll(s, devices, 2, 'applied');
        expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      }));
      expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
      expect(await latestStatesAgree(s.f.ctx.sql, s.rolloutId)).toEqual([]);
      expect(await s.f.ctx.sql.value<number>('SELECT COUNT(*) FROM reports WHERE rollout_id = ?', [s.rolloutId])).toBe(devices.length * 2);
    }
    const [small1, small2, large1, large2] = counts as [number, number, number, number];
    // Not one statement per request: the same statements for ten times the requests (27 more requests
    // would be 27+ more statements; a background statement of the server, e.g. the change feed on
    // PostgreSQL, may land in either window).
    expect(Math.abs(large1 - small1)).toBeLessThanOrEqual(3);
    expect(Math.abs(large2 - small2)).toBeLessThanOrEqual(3);
    expect(large1).toBeLessThan(30);
  });

  it('after a commit, auto-halt looks only at rollouts whose terminal or failure totals moved', async () => {
    const { s, devices } = await fleet(3);
    const checked: string[][] = [];
    const health = s.f.ctx.health;
    const original = health.checkHalts.bind(health);
    health.checkHalts = async (ids) => {
      checked.push([...ids]);
      return original(ids);
    };
    try {
      // Progress reports cannot cross a §5 threshold: no check, no read after their commit.
      expect((await submitAll(s, devices, 1, 'downloading')).every((o) => o.status === 'fulfilled')).toBe(true);
      expect(checked).toEqual([]);
      // A terminal report moves the totals the rule judges: the rollout is checked before the group is answered.
      expect((await submitAll(s, devices.slice(0, 1), 2, 'failed')).every((o) => o.status === 'fulfilled')).toBe(true);
      expect(checked).toEqual([[s.rolloutId]]);
    } finally {
      health.checkHalts = original;
    }
  });

  it('requests of one device in one group see each other: a duplicate is a duplicate, a conflicting seq refuses its own request only', async () => {
    const { s, devices } = await fleet(2);
    const [a, b] = devices as [Device, Device];
    const results = await Promise.allSettled([
      s.f.ctx.ingest.submit(a, [reportOf(s, 1, 'received') as unknown as Report]),
      s.f.ctx.ingest.submit(a, [reportOf(s, 1, 'received') as unknown as Report]),
      s.f.ctx.ingest.submit(a, [reportOf(s, 1, 'downloading') as unknown as Report]),
      s.f.ctx.ingest.submit(b, [reportOf(s, 1, 'received') as unknown as Report, reportOf(s, 2, 'installing') as unknown as Report]),
      s.f.ctx.ingest.submit(a, [reportOf(s, 2, 'applied') as unknown as Report]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseFulfilledResult<unknown>).value).toEqual({ accepted: 0, duplicates: 1, lastSeq: 1 });
    expect(((results[2] as PromiseRejectedResult).reason as { code: string }).code).toBe('seq_conflict');
    expect((results[4] as PromiseFulfilledResult<unknown>).value).toEqual({ accepted: 1, duplicates: 0, lastSeq: 2 });
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, a.id))?.state).toBe('applied');
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, b.id))?.state).toBe('installing');
    expect(await storedCounters(s.f.ctx.sql, s.rolloutId)).toEqual(await recountCounters(s.f.ctx.sql, s.rolloutId));
  });

  it('a write the engine refuses for one device costs only that request: the group is written again, each request alone', async () => {
    const { s, devices } = await fleet(6);
    const poisoned = devices[2] as Device;
    const { sql } = s.f.ctx;
    // The disk (or a constraint) refuses this one device's report row: the set-based insert of the whole group fails.
    if (sql.engine === 'sqlite') {
      await sql.exec(`CREATE TRIGGER poison BEFORE INSERT ON reports WHEN NEW.device_id = '${poisoned.id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;`);
    } else {
      await sql.exec(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.device_id = '${poisoned.id}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER poison BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION poison();`);
    }
    const outcomes = await submitAll(s, devices, 1, 'received');
    expect(outcomes.map((o) => o.status)).toEqual(devices.map((d) => (d === poisoned ? 'rejected' : 'fulfilled')));
    const stored = await sql.all<{ device_id: string }>('SELECT device_id FROM reports WHERE rollout_id = ? ORDER BY device_id', [s.rolloutId]);
    expect(stored.map((r) => r.device_id)).toEqual(devices.filter((d) => d !== poisoned).map((d) => d.id).sort());
    // The refused request left nothing behind: its device is still only offered, and the counters agree.
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, poisoned.id))?.state).toBe(null);
    expect(await sql.value<number>('SELECT last_seq FROM devices WHERE id = ?', [poisoned.id])).toBe(-1);
    expect(await storedCounters(sql, s.rolloutId)).toEqual(await recountCounters(sql, s.rolloutId));
  });

  it("an edge's own records of a group (a DDI action's state) start together, and one that fails costs only its request", async () => {
    const { s, devices } = await fleet(5);
    const { sql } = s.f.ctx;
    await sql.exec('CREATE TABLE edge_records (device_id TEXT NOT NULL)');
    const events: string[] = [];
    // One group: every record is started before any has finished (on PostgreSQL, one round trip for all).
    const outcomes = await Promise.allSettled(devices.map((d, i) => s.f.ctx.ingest.submit(d, [reportOf(s, 1, 'received') as unknown as Report], {
      alongside: async () => {
        events.push(`start ${i}`);
        await sql.run('INSERT INTO edge_records (device_id) VALUES (?)', [d.id]);
        events.push(`end ${i}`);
      },
    })));
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(events.slice(0, devices.length).every((e) => e.startsWith('start'))).toBe(true);
    expect(events.filter((e) => e.startsWith('end'))).toHaveLength(devices.length);
    // A record that fails rolls its group back; the group is written again request by request,
    // and only the failing request is refused, with nothing of it left behind.
    const poisoned = devices[3] as Device;
    events.length = 0;
    const again = await Promise.allSettled(devices.map((d, i) => s.f.ctx.ingest.submit(d, [reportOf(s, 2, 'downloading') as unknown as Report], {
      alongside: async () => {
        events.push(`start ${i}`);
        await sql.run('INSERT INTO edge_records (device_id) VALUES (?)', [d.id]);
        if (d === poisoned) throw new Error('refused by the test');
      },
    })));
    expect(again.map((o) => o.status)).toEqual(devices.map((d) => (d === poisoned ? 'rejected' : 'fulfilled')));
    const records = await sql.all<{ device_id: string; n: number }>('SELECT device_id, COUNT(*) AS n FROM edge_records GROUP BY device_id ORDER BY device_id');
    expect(records.map((r) => [r.device_id, Number(r.n)])).toEqual(devices.map((d) => [d.id, d === poisoned ? 1 : 2]).sort());
    expect(await sql.value<number>('SELECT last_seq FROM devices WHERE id = ?', [poisoned.id])).toBe(1);
    expect(await storedCounters(sql, s.rolloutId)).toEqual(await recountCounters(sql, s.rolloutId));
  });
  it("one device's own records in a group run in its requests' order, each settling with its own outcome", async () => {
    const { s, devices } = await fleet(2);
    const [a, b] = devices as [Device, Device];
    const events: string[] = [];
    const submit = (d: Device, seq: number, state: string, fails = false) => s.f.ctx.ingest.submit(d, [reportOf(s, seq, state) as unknown as Report], {
      alongside: async () => {
        events.push(`start ${d.id}#${seq}`);
        await s.f.ctx.sql.value('SELECT 1');
        events.push(`end ${d.id}#${seq}`);
        if (fails) throw new Error('refused by the test');
      },
    });
    // One group: a's two requests and b's one.
    const outcomes = await Promise.allSettled([submit(a, 1, 'received'), submit(b, 1, 'received'), submit(a, 2, 'downloading')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(events.indexOf(`start ${a.id}#2`)).toBeGreaterThan(events.indexOf(`end ${a.id}#1`));
    expect(events.indexOf(`start ${b.id}#1`)).toBeLessThan(events.indexOf(`end ${a.id}#1`));
    // The first of a's records fails and the second succeeds: the group still fails (a later record's
    // success must not hide it), is written again request by request, and only the failed one is refused.
    events.length = 0;
    const again = await Promise.allSettled([submit(a, 3, 'installing', true), submit(a, 4, 'installing')]);
    expect(again.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    const seqs = await s.f.ctx.sql.all<{ seq: number }>('SELECT seq FROM reports WHERE device_id = ? ORDER BY seq', [a.id]);
    expect(seqs.map((r) => Number(r.seq))).toEqual([1, 2, 4]);
  });
});

describe('operators read a rollout without a statement per device (issue 20)', () => {
  it('the device list is one page statement beside the rollout read, whatever the page size; status reads no device one by one', async () => {
    const { s, devices, tokens } = await fleet(12);
    await submitAll(s, devices.slice(0, 6), 1, 'failed', () => ({ error: { code: 'E_DISK', message: 'no space' } }));
    void tokens;
    const listed = async (limit: number) => {
      let body: { devices: { deviceId: string; state: string; lastSeen: string | null; error: unknown }[] } = { devices: [] };
      const n = await statementsDuring(s.f.ctx.sql, async () => {
        const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/devices`).query({ limit: String(limit) }).set(bearer(s.f.tokens.viewer));
        expect(res.status, res.text).toBe(200);
        body = res.body as typeof body;
      });
      return { n, body };
    };
    await listed(1); // the viewer token's first use is recorded once (token-last-used): not part of a page
    const two = await listed(2);
    const all = await listed(100);
    expect(all.body.devices).toHaveLength(12);
    expect(all.n).toBe(two.n);
    expect(all.n).toBeLessThanOrEqual(3);
    // What the join brings back is what the device said and when it was last seen.
    const failed = all.body.devices.filter((d) => d.state === 'failed');
    expect(failed).toHaveLength(6);
    expect(failed.every((d) => JSON.stringify(d.error) === JSON.stringify({ code: 'E_DISK', message: 'no space' }))).toBe(true);
    expect(all.body.devices.filter((d) => d.state === 'silent').every((d) => d.error === null && d.lastSeen !== null)).toBe(true);

    await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
    let silent: { deviceId: string; lastSeen: string | null }[] = [];
    const statusStatements = await statementsDuring(s.f.ctx.sql, async () => {
      const res = await request(s.f.app).get(`/v1/rollouts/${s.rolloutId}/status`).set(bearer(s.f.tokens.qa));
      expect(res.status).toBe(200);
      silent = (res.body as { silentDevices: typeof silent }).silentDevices;
    });
    expect(silent).toHaveLength(6);
    expect(silent.every((d) => d.lastSeen !== null)).toBe(true);
    // The rollout, its counters, its release, the silent sample: not one more per silent device.
    expect(statusStatements).toBeLessThanOrEqual(5);
  });
});
