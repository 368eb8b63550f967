import { describe, expect, it } from 'vitest';
import { createHttpTransport } from '../../server/programs/agent/http-transport.js';
import { TransportError } from '../../server/programs/agent/ports.js';
import { refreshTrust } from '../../server/programs/agent/trust-client.js';
import { VerifyCache } from '../../server/programs/agent/verify-cache.js';
import { generatePrivateKey, type PrivateKey } from '../../server/protocol/crypto/keys.js';
import { buildRoot } from '../../server/protocol/trust/build.js';
import type { RootEnvelope } from '../../server/protocol/trust/root.js';
import { FUTURE, signWith } from '../helpers/fixtures.js';
import { makeKeys, nextRoot, NOW, POLICY } from './agent-fixtures.js';
import { fakeServerFor } from './agent-harness.js';

const keys = makeKeys();
const rootWith = (version: number, rootKeys: PrivateKey[]) =>
  buildRoot({ version, expires: FUTURE, roles: { root: { keys: rootKeys, threshold: 1 }, release: { keys: keys.release, threshold: 1 }, online: { keys: [keys.online], threshold: 1 } } });
const codes = (r: { problems: { code: string }[] }) => r.problems.map((p) => p.code);

async function refreshWith(roots: RootEnvelope[], policy: unknown = keys.policy, held?: Parameters<typeof refreshTrust>[1]['policy']) {
  const server = await fakeServerFor(keys);
  server.roots = [keys.rootEnvelope, ...roots];
  server.policy = policy;
  const persisted: number[] = [];
  const result = await refreshTrust(createHttpTransport({ baseUrl: server.url }), { root: keys.rootEnvelope, policy: held }, NOW, {
    cache: new VerifyCache(),
    onRoot: async (r) => void persisted.push(r.signed.version),
  });
  return { server, result, persisted };
}

describe('trust client (protocol §2 root chain, §3 policy)', () => {
  it('walks rotations from the pinned root until 404, persisting each step', async () => {
    const newRootKeys = [generatePrivateKey()];
    const v2 = nextRoot(keys.rootEnvelope.signed, keys.root);
    const v3 = signWith(rootWith(3, newRootKeys), [...keys.root, ...newRootKeys]);
    const { result, persisted, server } = await refreshWith([v2, v3], signWith(POLICY, newRootKeys));
    expect(codes(result)).toEqual([]);
    expect(result.root.signed.version).toBe(3);
    expect(persisted).toEqual([2, 3]);
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/trust/root/2', '/v1/trust/root/3', '/v1/trust/root/4', '/v1/trust/policy']);
  });

  it('refuses a forged N+1 and keeps the last trusted root', async () => {
    const attacker = [generatePrivateKey()];
    const forged = nextRoot(keys.rootEnvelope.signed, attacker);
    const { result, persisted } = await refreshWith([forged]);
    expect(codes(result)).toEqual(['root_chain_invalid']);
    expect(result.problems[0]?.message).toMatch(/not signed by root v1/);
    expect(result.root.signed.version).toBe(1);
    expect(persisted).toEqual([]);
  });

  it('refuses N+1 not signed by its own new root keys, or with a skipped version', async () => {
    const newKeys = [generatePrivateKey()];
    const oldOnly = signWith(rootWith(2, newKeys), keys.root);
    expect(codes((await refreshWith([oldOnly])).result)).toEqual(['root_chain_invalid']);
    const skipped = signWith({ ...keys.rootEnvelope.signed, version: 3 }, keys.root);
    expect((await refreshWith([skipped])).result.problems[0]?.message).toMatch(/does not follow/);
    expect(codes((await refreshWith([{ signed: { type: 'root' }, signatures: [] } as unknown as RootEnvelope])).result)).toEqual(['root_chain_invalid']);
  });

  it('refuses an expired newest root', async () => {
    const expired = nextRoot({ ...keys.rootEnvelope.signed, expires: '2026-01-01T00:00:00Z' }, keys.root);
    expect(codes((await refreshWith([expired])).result)).toEqual(['root_expired']);
  });

  it('refuses a policy not signed by the root role of the newest root, or older than the one held', async () => {
    expect(codes((await refreshWith([], signWith(POLICY, keys.release))).result)).toEqual(['policy_invalid']);
    expect(codes((await refreshWith([], { signed: { type: 'settings-policy' }, signatures: [] })).result)).toEqual(['policy_invalid']);
    const v2 = signWith({ ...POLICY, version: 2 }, keys.root);
    const stale = await refreshWith([], keys.policy, v2);
    expect(codes(stale.result)).toEqual(['policy_invalid']);
    expect(stale.result.policy?.signed.version).toBe(2);
  });

  it('network failures throw TransportError rather than becoming trust problems', async () => {
    const server = await fakeServerFor(keys);
    server.down = true;
    await expect(refreshTrust(createHttpTransport({ baseUrl: server.url }), { root: keys.rootEnvelope }, NOW)).rejects.toBeInstanceOf(TransportError);
  });
});
