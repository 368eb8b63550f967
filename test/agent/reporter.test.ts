import { describe, expect, it } from 'vitest';
import { initialState } from '../../server/programs/agent/agent-state.js';
import { TransportError, type Transport, type TransportResponse } from '../../server/programs/agent/ports.js';
import { Reporter, type AgentReport } from '../../server/programs/agent/reporter.js';
import { DEVICE, makeKeys } from './agent-fixtures.js';

const keys = makeKeys();

function harness(answer: (batch: AgentReport[]) => TransportResponse | 'offline') {
  const state = initialState({ ...DEVICE, factoryVersion: '1.4.1', pinnedRoot: keys.rootEnvelope });
  const posts: AgentReport[][] = [];
  const transport: Transport = {
    get: () => Promise.reject(new Error('unused')),
    stream: () => Promise.reject(new Error('unused')),
    post: (_path, body) => {
      posts.push(body as AgentReport[]);
      const a = answer(body as AgentReport[]);
      return a === 'offline' ? Promise.reject(new TransportError('offline')) : Promise.resolve(a);
    },
  };
  let saves = 0;
  const reporter = new Reporter(() => state, transport, async () => void saves++);
  const queue = (n: number) => {
    for (let i = 0; i < n; i++) reporter.enqueue({ releaseId: 'r', rolloutId: 'ro', state: 'received', at: '2026-11-24T11:30:00Z' });
  };
  return { state, posts, reporter, queue, saves: () => saves };
}

const answer = (status: number, json?: unknown): TransportResponse => ({ status, json, header: () => null });

describe('Reporter (protocol §7 reports)', () => {
  it('assigns increasing seqs and keeps reports queued while offline', async () => {
    const h = harness(() => 'offline');
    h.queue(3);
    expect(h.state.queue.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await h.reporter.flush()).toMatchObject({ sent: 0, pending: 3 });
    expect(h.state.queue).toHaveLength(3);
  });

  it('drops reports only after a 2xx, flushing in order in batches of at most 500', async () => {
    let status = 503;
    const h = harness(() => answer(status));
    h.queue(501);
    expect(await h.reporter.flush()).toMatchObject({ sent: 0, pending: 501 });
    status = 200;
    expect(await h.reporter.flush()).toEqual({ sent: 501, pending: 0 });
    expect(h.posts.slice(1).map((b) => b.length)).toEqual([500, 1]);
    expect(h.posts.slice(1).flat().map((r) => r.seq)).toEqual(Array.from({ length: 501 }, (_, i) => i + 1));
    expect(h.saves()).toBe(2);
  });

  it('a batch refused for good naming one report sets that report aside and sends the rest', async () => {
    const h = harness((batch) => (batch.some((r) => r.seq === 2) ? answer(422, { error: { code: 'unprocessable', message: 'no', details: [{ path: '/1' }] } }) : answer(200)));
    h.queue(3);
    expect(await h.reporter.flush()).toEqual({ sent: 2, pending: 0 });
    expect(h.state.refused.map((r) => r.report.seq)).toEqual([2]);
    expect(h.posts.at(-1)?.map((r) => r.seq)).toEqual([1, 3]);
  });

  it('a refusal naming no report keeps the whole queue', async () => {
    const h = harness(() => answer(401, { error: { code: 'unauthorized', message: 'no' } }));
    h.queue(2);
    expect(await h.reporter.flush()).toMatchObject({ sent: 0, pending: 2 });
  });
});
