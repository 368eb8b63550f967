import { describe, expect, it } from 'vitest';
import { TransportError, type Transport } from '../../server/programs/agent/ports.js';
import { chance, draw } from '../../server/programs/fleet/fleet-random.js';
import { tallyFleet, type DeviceView } from '../../server/programs/fleet/fleet-tally.js';
import { SimLink } from '../../server/programs/fleet/sim-link.js';
import type { LedgerEntry } from '../../server/programs/fleet/sim-device.js';
import { table } from '../../server/programs/cli/text-table.js';

describe('fleet simulator parts', () => {
  it('draws are fixed by seed and labels, uniform enough to be rates', () => {
    expect(draw('s', 'dev-1', 'install')).toBe(draw('s', 'dev-1', 'install'));
    expect(draw('s', 'dev-1', 'install')).not.toBe(draw('t', 'dev-1', 'install'));
    const hits = Array.from({ length: 10_000 }, (_, i) => chance(0.2, 'seed', `dev-${i}`, 'opt-in')).filter(Boolean).length;
    expect(hits).toBeGreaterThan(1800);
    expect(hits).toBeLessThan(2200);
    expect(chance(0, 'seed', 'x')).toBe(false);
  });

  it('a dropped link fails every request after its budget, shows every POST first, and comes back when restored', async () => {
    const ok = { status: 200, header: () => null, json: {} };
    const inner: Transport = { get: async () => ok, post: async () => ok, stream: async () => ({ status: 200, header: () => null, body: (async function* () {})() }) };
    const posted: unknown[] = [];
    const link = new SimLink(inner, (_path, body) => posted.push(body));
    link.dropAfter(1);
    await expect(link.get('/v1/trust/policy')).resolves.toBe(ok);
    await expect(link.post('/v1/devices/d/reports', [{ seq: 1 }])).rejects.toBeInstanceOf(TransportError);
    expect(posted).toEqual([[{ seq: 1 }]]);
    link.restore();
    await expect(link.post('/v1/devices/d/reports', [{ seq: 1 }])).resolves.toBe(ok);
  });

  it('tallies latest states per rollout, rejections by code, settings value × source with opt-ins', () => {
    const device = (optedIn: boolean, entries: [string, LedgerEntry][], settings: DeviceView['settings'], pending = 0): DeviceView => ({
      enrolled: true, optedIn, offered: entries.map(([id]) => id), ledger: new Map(entries), pendingReports: pending, refusedReports: 0, settings,
    });
    const applied = (value: boolean, source: 'user' | 'default'): LedgerEntry => ({ releaseId: 'r1', state: 'applied', settings: { k: { value, source } } });
    const t = tallyFleet([
      device(true, [['ro', applied(true, 'user')]], { k: { value: true, source: 'user' } }),
      device(false, [['ro', applied(false, 'default')]], { k: { value: false, source: 'default' } }),
      device(false, [['ro', { releaseId: 'r1', state: 'failed', settings: {} }]], { k: { value: true, source: 'default' } }),
      device(false, [['ro', { releaseId: 'r1', state: 'rejected', code: 'not_in_bucket', settings: {} }]], { k: { value: true, source: 'default' } }, 2),
      device(false, [['ro', { releaseId: 'r1', state: 'downloading', settings: {} }]], undefined),
      { enrolled: false, enrollError: '409 conflict', optedIn: false, offered: [], ledger: new Map(), pendingReports: 0, refusedReports: 0 },
    ]);
    expect(t).toMatchObject({ devices: 6, enrolled: 5, enrollFailed: 1, enrollErrors: { '409 conflict': 1 }, optedIn: 1, offersSeen: 5,
      applied: 2, failed: 1, rejected: 1, rejectedBy: { not_in_bucket: 1 }, inProgress: 1, pendingReports: 2 });
    expect(t.rollouts.ro).toMatchObject({ releaseId: 'r1', offered: 5, counts: { applied: 2, failed: 1, rejected: 1, downloading: 1 } });
    expect(t.rollouts.ro?.settings.k).toEqual([
      { value: false, source: 'default', devices: 1, optedIn: 0 },
      { value: true, source: 'user', devices: 1, optedIn: 1 },
    ]);
    expect(t.settings.k).toEqual([
      { value: true, source: 'default', devices: 2, optedIn: 0 },
      { value: false, source: 'default', devices: 1, optedIn: 0 },
      { value: true, source: 'user', devices: 1, optedIn: 1 },
    ]);
  });

  it('text tables align columns, numbers to the right', () => {
    expect(table(['KEY', 'N'], [['a', 5], ['bbb', 100]])).toEqual(['KEY    N', 'a      5', 'bbb  100']);
    expect(table(['ID', 'NAME', 'SEEN'], [[7, 'x', null], [12, 'long name', '2026-11-24T12:00:00Z']])).toEqual([
      'ID  NAME       SEEN',
      ' 7  x          -',
      '12  long name  2026-11-24T12:00:00Z',
    ]);
  });
});
