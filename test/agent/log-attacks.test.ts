import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../../server/protocol/crypto/keys.js';
import { makeKeys, offerOf, type Offer } from './agent-fixtures.js';
import { deviceOn, expectRejected, fakeServerFor, statesOf, type Device } from './agent-harness.js';
import type { FakeServer } from './fake-server.js';
import { FakeLog } from './fake-log.js';

const keys = makeKeys();
const A = (): Offer => offerOf(keys, { id: 'release-a' }, { rolloutId: 'rollout-a' });
const B = (): Offer => offerOf(keys, { id: 'release-b', issuedAt: '2026-11-24T10:30:00Z' }, { rolloutId: 'rollout-b' });
const filler = (n: number) => ({ signed: { type: 'filler', n }, signatures: [] });

/** A device that applied offer A from a log of `size` entries, so it keeps a checkpoint of that size. */
async function deviceThatKept(size: number): Promise<{ server: FakeServer; d: Device }> {
  const server = await fakeServerFor(keys);
  const log = server.log as FakeLog;
  for (let i = 0; i < size - 2; i++) log.add(filler(i));
  server.offers = [A()];
  const d = deviceOn(server, keys);
  expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['applied']);
  expect(d.agent.snapshot().checkpoint?.size).toBe(size);
  server.reports.splice(0);
  return { server, d };
}

describe('protocol §8 on the device: only logged offers are installed', () => {
  it('keeps the checkpoint it verified, fetches a consistency proof for a larger one, and persists it', async () => {
    const { server, d } = await deviceThatKept(4);
    (server.log as FakeLog).add(filler(99));
    server.offers = [B()];
    expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['applied']);
    expect(server.requests.map((r) => r.path).filter((p) => p.startsWith('/v1/log/'))).toEqual(['/v1/log/proof/consistency?from=4&to=7']);
    const kept = d.restart().agent;
    await kept.load();
    expect(kept.snapshot().checkpoint).toMatchObject({ origin: 'ota.local/log', size: 7 });
  });

  it('an offer with no proof', async () => {
    const server = await fakeServerFor(keys, [{ ...A(), log: undefined }]);
    const d = deviceOn(server, keys);
    await d.agent.checkAndApply();
    expectRejected(server, d, 'not_logged');
    expect(server.reports[0]?.error?.message).toMatch(/no transparency log proof/);
  });

  it('a proof for another entry', async () => {
    const server = await fakeServerFor(keys);
    const other = (server.log as FakeLog).member(B());
    server.offers = [{ ...A(), log: other }];
    const d = deviceOn(server, keys);
    await d.agent.checkAndApply();
    expectRejected(server, d, 'not_logged');
    expect(server.reports[0]?.error?.message).toMatch(/not included at index/);
  });

  it('a checkpoint signed by another key', async () => {
    const server = await fakeServerFor(keys, [A()]);
    (server.log as FakeLog).key = generatePrivateKey();
    const d = deviceOn(server, keys);
    await d.agent.checkAndApply();
    expectRejected(server, d, 'not_logged');
    expect(server.reports[0]?.error?.message).toMatch(/no valid signature by an online key/);
  });

  it('a checkpoint smaller than one already seen', async () => {
    const { server, d } = await deviceThatKept(6);
    const small = new FakeLog(keys.online);
    const b = B();
    server.offers = [{ ...b, log: small.member(b) }];
    await d.agent.checkAndApply();
    expect(statesOf(server.reports)).toEqual(['rejected']);
    expect(server.reports[0]?.error).toMatchObject({ code: 'not_logged', message: expect.stringMatching(/smaller than the one already verified/) });
    expect(d.agent.snapshot().checkpoint?.size).toBe(6);
  });

  it('a forked log: two checkpoints of the same size with different roots', async () => {
    const { server, d } = await deviceThatKept(4);
    const fork = new FakeLog(keys.online);
    fork.add(filler(1));
    fork.add(filler(2));
    const b = B();
    server.offers = [{ ...b, log: fork.member(b) }];
    expect(fork.size).toBe(4);
    await d.agent.checkAndApply();
    expect(server.reports.map((r) => r.error?.code)).toEqual(['not_logged']);
    expect(server.reports[0]?.error?.message).toMatch(/forked log/);
    expect(d.agent.snapshot().checkpoint?.rootHash).not.toBe(undefined);
  });

  it('a larger checkpoint of a rewritten log: the consistency proof does not verify', async () => {
    const { server, d } = await deviceThatKept(4);
    const rewritten = new FakeLog(keys.online);
    for (let i = 0; i < 4; i++) rewritten.add(filler(100 + i));
    server.log = rewritten;
    server.offers = [B()];
    await d.agent.checkAndApply();
    expect(server.reports.map((r) => r.error?.code)).toEqual(['not_logged']);
    expect(server.reports[0]?.error?.message).toMatch(/not proven consistent/);
    expect(d.agent.snapshot().checkpoint?.size).toBe(4);
  });
});

describe('an agent that requires witness cosignatures', () => {
  const witness = generatePrivateKey();
  const policy = { keys: [{ name: 'witness.example.org', publicHex: witness.keyval.public }], threshold: 1 };

  it('waits (nothing reported, nothing settled) until the checkpoint carries enough cosignatures, then applies', async () => {
    const server = await fakeServerFor(keys, [A()]);
    const d = deviceOn(server, keys, { witnesses: policy });
    const first = await d.agent.checkAndApply();
    expect(first.outcomes.map((o) => [o.result, o.message])).toEqual([['interrupted', expect.stringMatching(/carries 0 of the 1 witness cosignatures/)]]);
    expect(server.reports).toEqual([]);
    expect(d.agent.snapshot().settled).toEqual({});
    expect(d.agent.snapshot().checkpoint).toBeUndefined();

    // A cosignature by another key under the witness's name does not count.
    (server.log as FakeLog).witnesses = [{ name: 'witness.example.org', key: generatePrivateKey() }];
    expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['interrupted']);

    (server.log as FakeLog).witnesses = [{ name: 'witness.example.org', key: witness }];
    expect((await d.agent.checkAndApply()).outcomes.map((o) => o.result)).toEqual(['applied']);
    expect(d.agent.snapshot().checkpoint?.note).toMatch(/\u2014 witness\.example\.org /);
  });
});
