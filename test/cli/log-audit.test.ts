import { describe, expect, it } from 'vitest';
import { LogReplay } from '../../server/programs/cli/log-audit.js';
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { makeKeys, nextRoot, signedRelease, statementFor } from '../agent/agent-fixtures.js';

const keys = makeKeys();
const start = () => {
  const replay = new LogReplay({ roots: [keys.rootEnvelope], root: keys.rootEnvelope.signed });
  replay.add(keys.rootEnvelope);
  replay.add(keys.policy);
  return replay;
};

describe('LogReplay: the auditor\'s rules per entry (protocol §8)', () => {
  it('accepts a clean history, a rotation to the next root, and tallies consent settings at their safe value', () => {
    const replay = start();
    const release = signedRelease(keys, { id: 'optin' });
    replay.add(release);
    replay.add(statementFor(keys, release));
    replay.add(nextRoot(keys.rootEnvelope.signed, keys.root));
    expect(replay.failures).toEqual([]);
    expect(replay.root.version).toBe(2);
    expect(replay.consent).toEqual([expect.objectContaining({ index: 2, releaseId: 'optin', key: 'cloud.messaging.enabled', value: false, enabled: false })]);
  });

  it('names the index of a validly signed release that enables a consent setting (P2), and the statement of an unlogged release', () => {
    const replay = start();
    const evil = signedRelease(keys, { id: 'evil', settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'reset' }] });
    replay.add(evil);
    replay.add(statementFor(keys, signedRelease(keys, { id: 'never-logged' })));
    expect(replay.failures.map((f) => f.index)).toEqual([2, 3]);
    expect(replay.failures[0]?.reason).toMatch(/P2/);
    expect(replay.failures[1]?.reason).toMatch(/not logged before it/);
  });

  it('refuses a release before any policy, a forged statement, a skipped root version and an older policy', () => {
    const replay = new LogReplay({ roots: [keys.rootEnvelope], root: keys.rootEnvelope.signed });
    replay.add(signedRelease(keys, { id: 'early' }));
    replay.add(keys.policy);
    const release = signedRelease(keys, { id: 'ok' });
    replay.add(release);
    replay.add(statementFor(keys, release, {}, keys.release[0]));
    const v3 = nextRoot({ ...keys.rootEnvelope.signed, version: 2 }, keys.root);
    replay.add(v3);
    replay.add(signEnvelope({ signed: { ...keys.policy.signed, version: 0 } }, keys.root.map(ed25519Signer)));
    expect(replay.failures.map((f) => f.index)).toEqual([0, 3, 4, 5]);
  });
});
