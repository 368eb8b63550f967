import { describe, expect, it } from 'vitest';
import { LogReplay } from '../../server/programs/cli/log-audit.js';
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import type { PrivateKey } from '../../server/protocol/crypto/keys.js';
import { manifestSha256, type ReleaseEnvelope } from '../../server/protocol/release-manifest.js';
import { makeKeys, signedRelease } from '../agent/agent-fixtures.js';
import { ota } from '../cli/cli-harness.js';
import { listen } from '../cli/cli-server.js';
import { publish } from '../helpers/fleet.js';

const keys = makeKeys();
const withdrawalOf = (release: ReleaseEnvelope, signer: PrivateKey = keys.online, over: Record<string, unknown> = {}) =>
  signEnvelope({ signed: { type: 'withdrawal', releaseId: release.signed.id, manifestSha256: manifestSha256(release.signed), reason: 'yanked: boot loop', issuedAt: '2026-11-24T11:00:00Z', ...over } }, [ed25519Signer(signer)]);
const start = () => {
  const replay = new LogReplay({ roots: [keys.rootEnvelope], root: keys.rootEnvelope.signed });
  replay.add(keys.rootEnvelope);
  replay.add(keys.policy);
  return replay;
};

describe("the auditor's replay of withdrawal entries (protocol §7, §8)", () => {
  it('accepts a withdrawal by the online role of a release logged before it', () => {
    const replay = start();
    const release = signedRelease(keys, { id: 'optin' });
    replay.add(release);
    replay.add(withdrawalOf(release));
    expect(replay.failures).toEqual([]);
    expect(replay.counts.withdrawal).toBe(1);
    expect(replay.kinds[3]).toBe('withdrawal');
  });

  it('refuses one signed by another role, one of a release never logged, one binding other content, and unknown fields', () => {
    const replay = start();
    const release = signedRelease(keys, { id: 'optin' });
    replay.add(release);
    replay.add(withdrawalOf(release, keys.release[0]));
    replay.add(withdrawalOf(signedRelease(keys, { id: 'never-logged' })));
    replay.add(withdrawalOf(release, keys.online, { manifestSha256: 'ab'.repeat(32) }));
    replay.add(withdrawalOf(release, keys.online, { note: 'extra' }));
    expect(replay.failures.map((f) => f.index)).toEqual([3, 4, 5, 6]);
    expect(replay.failures[0]?.reason).toMatch(/online/);
    expect(replay.failures[1]?.reason).toMatch(/not logged before it/);
    expect(replay.failures[2]?.reason).toMatch(/withdraws manifest/);
  });
});

describe('ota release withdraw, then ota audit', () => {
  it('withdraws over the API and the audit verifies the logged withdrawal', async () => {
    const s = await listen();
    await publish(s);
    const env = { OTA_SERVER: s.url, OTA_TOKEN: s.tokens['release-manager'] };
    const done = await ota(['release', 'withdraw', 'redmi-1s-cloud-optin-2014-08', '--reason', 'bricks devices with a full data partition'], { env });
    expect(done.code, done.err).toBe(0);
    expect(done.out).toMatch(/^withdrew release redmi-1s-cloud-optin-2014-08 at \S+: offered by no rollout from now on \(signed withdrawal at log index \d+\)\n$/);
    expect((await ota(['release', 'withdraw', 'redmi-1s-cloud-optin-2014-08', '--reason', 'again'], { env })).out).toMatch(/^already withdrawn/);
    expect((await ota(['release', 'show', 'redmi-1s-cloud-optin-2014-08'], { env })).out).toContain('WITHDRAWN     ');
    const audit = await ota(['audit', '--server', s.url, '--root', s.trust.dir], { now: new Date() });
    expect(audit.code, audit.out + audit.err).toBe(0);
    expect(audit.out).toMatch(/\nwithdrawal\s+1\s+1\n/);
    expect(audit.out).toMatch(/\nPASS: /);
  });
});
