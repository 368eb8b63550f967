import { describe, expect, it } from 'vitest';
import { releaseBody } from '../helpers/fixtures.js';
import { poll } from '../helpers/fleet.js';
import { enrollAll, RELEASE_ID, reportOf, scenario } from '../rollouts/scenario.js';

/** The door gateways use (device-core/device-core.ts): the same offers, reports and facts as the native routes. */
describe('device core', () => {
  it('offers: the native poll\'s offers in neutral form (release facts, stage, statement), noted as made', async () => {
    const s = await scenario();
    const token = (await enrollAll(s.f, ['core-1'])).get('core-1') as string;
    const { core } = s.f.ctx;
    const device = await core.authenticate('core-1', `Bearer ${token}`);
    const offers = await core.offers(device, undefined);
    expect(offers).toHaveLength(1);
    const [offer] = offers;
    const expected = releaseBody();
    expect(offer).toMatchObject({ rolloutId: s.rolloutId, stage: 0 });
    // The signed release parsed once: what a gateway reads version, mandatory and artifact from.
    expect(offer?.release).toEqual((JSON.parse(offer?.releaseJson as string) as { signed: unknown }).signed);
    expect(offer?.release).toMatchObject({ id: RELEASE_ID, models: expected.models, appliesTo: expected.appliesTo });
    // The same signed documents the native poll serves.
    const body = (await poll(s.f.app, 'core-1', token)).body as { updates: { release: unknown; rollout: unknown }[] };
    expect(JSON.parse(offer?.releaseJson as string)).toEqual(body.updates[0]?.release);
    expect(JSON.parse(offer?.statement.json as string)).toEqual(body.updates[0]?.rollout);
    // Made offers are written behind like the native poll's: a report then finds its offer.
    await s.f.ctx.activity.flushAll();
    expect((await s.f.ctx.rolloutDevices.get(s.rolloutId, 'core-1'))?.stage).toBe(0);
    expect(await core.report(device, [reportOf(s, 1, 'received') as never])).toEqual({ accepted: 1, duplicates: 0, lastSeq: 1 });
  });

  it('authenticate: synchronous for a cached device with its own token; 401 and 403 as the native routes', async () => {
    const s = await scenario();
    const tokens = await enrollAll(s.f, ['core-1', 'core-2']);
    const { core } = s.f.ctx;
    await core.authenticate('core-1', `Bearer ${tokens.get('core-1')}`);
    expect(core.authenticate('core-1', `Bearer ${tokens.get('core-1')}`)).not.toBeInstanceOf(Promise);
    await expect(Promise.resolve().then(() => core.authenticate('core-1', `Bearer ${tokens.get('core-2')}`))).rejects.toMatchObject({ code: 'forbidden' });
    await expect(Promise.resolve().then(() => core.authenticate('core-1', undefined))).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(Promise.resolve().then(() => core.authenticate('core-1', `Bearer ${s.f.tokens.admin}`))).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('updateFacts: stores model, version and attributes, drops the cached copy, and the offers follow', async () => {
    const s = await scenario();
    const token = (await enrollAll(s.f, ['core-1'])).get('core-1') as string;
    const { core } = s.f.ctx;
    expect(await core.offers(await core.authenticate('core-1', `Bearer ${token}`), undefined)).toHaveLength(1);
    const moved = await core.updateFacts('core-1', { model: 'other-phone', attributes: { region: 'eu' } });
    expect(moved).toMatchObject({ id: 'core-1', model: 'other-phone', version: '1.4.1', attributes: { region: 'eu' } });
    const stored = await s.f.ctx.devices.get('core-1');
    expect(stored).toMatchObject({ model: 'other-phone', attributes: { region: 'eu' } });
    // The release is for redmi-1s only: the device moved out of it.
    expect(await core.offers(await core.authenticate('core-1', `Bearer ${token}`), undefined)).toEqual([]);
    expect((await core.updateFacts('core-1', { version: '1.4.2' })).version).toBe('1.4.2');
    await expect(core.updateFacts('nobody', { version: '1.0.0' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('enroll and mayEnroll: one role rule for every edge', async () => {
    const s = await scenario();
    const { core } = s.f.ctx;
    const qa = await core.credential(`Bearer ${s.f.tokens.qa}`);
    expect(() => core.mayEnroll(qa)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    await expect(core.enroll({ deviceId: 'core-9', model: 'redmi-1s', version: '1.4.1' }, qa)).rejects.toMatchObject({ code: 'forbidden' });
    const enroller = await core.credential(`Bearer ${s.f.tokens.enroller}`);
    const done = await core.enroll({ deviceId: 'core-9', model: 'redmi-1s', version: '1.4.1' }, enroller);
    expect(done).toMatchObject({ deviceId: 'core-9', reenrolled: false });
    const again = await core.enroll({ deviceId: 'core-9', model: 'redmi-1s', version: '1.4.2' }, await core.credential(`Bearer ${done.deviceToken}`), done.deviceToken);
    expect(again.reenrolled).toBe(true);
    await expect(core.credential(undefined)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
