import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrustFolder } from '../../server/trust/trust-folder.js';
import { releaseBody, tempDir } from '../helpers/fixtures.js';
import { initTrust, keygen, modeOf, NOW, ota, readJson, snapshot, writeJsonFile } from './cli-harness.js';

describe('ota trust rotate', () => {
  it('rotates 1→2→3; the chain, the policy and releases verify; older roots move to root/N.json', async () => {
    const t = await initTrust(tempDir());
    const keys = join(t.base, 'keys');
    const v1Text = readJson(join(t.dir, 'root.json'));
    const b = await keygen('root', keys);
    const r2 = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, '--root-key', b.priv]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    expect(readJson(join(t.dir, 'root', '1.json'))).toEqual(v1Text);

    const c = await keygen('root', keys);
    const d = await keygen('root', keys);
    const newRelease = await keygen('release', keys);
    const r3 = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', b.priv, c.priv, d.priv, '--root-key', c.pub, d.pub, '--root-threshold', '2',
      '--release-key', newRelease.pub, '--expires-days', '90']);
    expect(r3.code).toBe(0);

    const folder = loadTrustFolder(t.dir, NOW);
    expect(folder.roots.map((r) => r.signed.version)).toEqual([1, 2, 3]);
    expect(folder.root.roles.root).toEqual({ keyids: [c.keyid, d.keyid], threshold: 2 });
    expect(folder.root.roles.release.keyids).toEqual([newRelease.keyid]);
    expect(folder.root.expires).toBe('2027-02-22T12:00:00Z');
    expect(folder.policy.signatures.map((s) => s.keyid).sort()).toEqual([c.keyid, d.keyid].sort());

    // the newest root verifies from the folder (walks 1→2→3) and against a pinned v2
    expect((await ota(['verify', join(t.dir, 'root.json'), '--root', t.dir])).out).toMatch(/^OK root v3/);
    const pinnedV2 = await ota(['verify', join(t.dir, 'root.json'), '--root', join(t.dir, 'root', '2.json')]);
    expect(pinnedV2.out).toMatch(/^OK root v3\n {2}follows trusted root v2/);
    // a device pinned to v1 cannot skip to v3
    const skipped = await ota(['verify', join(t.dir, 'root.json'), '--root', join(t.dir, 'root', '1.json')]);
    expect(skipped.code).toBe(1);
    expect(skipped.err).toContain('root version 3 does not follow trusted version 1');

    // releases now verify by the new release key only
    const release = join(t.base, 'release.json');
    writeJsonFile(release, releaseBody());
    await ota(['sign', release, '--key', t.releaseKeys[0]!.priv]);
    expect((await ota(['verify', release, '--root', t.dir])).code).toBe(1);
    await ota(['sign', release, '--key', newRelease.priv]);
    expect((await ota(['verify', release, '--root', t.dir])).code).toBe(0);
  });

  it('refuses a v3 signed only by the new root keys and writes nothing', async () => {
    const t = await initTrust(tempDir());
    const keys = join(t.base, 'keys');
    const b = await keygen('root', keys);
    expect((await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, '--root-key', b.priv])).code).toBe(0);
    const c = await keygen('root', keys);
    const before = snapshot(t.dir);
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--root-key', c.priv]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ota: root v3 refused, nothing written: not signed by root v2: root role needs 1 valid signature/);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(snapshot(t.dir)).toEqual(before);
  });

  it('refuses a v2 signed only by the old root keys (the new threshold is not met)', async () => {
    const t = await initTrust(tempDir());
    const b = await keygen('root', join(t.base, 'keys'));
    const before = snapshot(t.dir);
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, '--root-key', b.pub]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not signed by its own root keys');
    expect(snapshot(t.dir)).toEqual(before);
  });

  it('a private --online-key replaces online.key.json (0600) and the server-side loader accepts the result', async () => {
    const t = await initTrust(tempDir());
    const online = await keygen('online', join(t.base, 'keys'));
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, '--online-key', online.priv]);
    expect(r.code).toBe(0);
    expect(modeOf(join(t.dir, 'online.key.json'))).toBe(0o600);
    const folder = loadTrustFolder(t.dir, NOW);
    expect(folder.root.roles.online.keyids).toEqual([online.keyid]);
    expect(folder.root.roles.root.keyids).toEqual([t.rootKeys[0]!.keyid]);
  });

  it('fewer new keys than the threshold is refused in the flags\' words, and nothing is written', async () => {
    const t = await initTrust(tempDir(), { rootKeys: 2, rootThreshold: 2 });
    const b = await keygen('root', join(t.base, 'keys'));
    const before = snapshot(t.dir);
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, t.rootKeys[1]!.priv, '--root-key', b.priv]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ota: --root-key names 1 distinct key(s) but the root threshold is 2 (kept from root v1; pass --root-threshold to change it): name at least 2; nothing written\n');
    expect(snapshot(t.dir)).toEqual(before);
    // A key's private and public files are one key.
    const twice = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, t.rootKeys[1]!.priv, '--root-key', b.priv, b.pub]);
    expect(twice.err).toContain('--root-key names 1 distinct key(s)');
    expect(snapshot(t.dir)).toEqual(before);
    const lowered = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, t.rootKeys[1]!.priv, '--root-key', b.priv, '--root-threshold', '1']);
    expect(lowered.err).toBe('');
    expect(lowered.code).toBe(0);
  });

  it('refuses a signing key that belongs to neither root', async () => {
    const t = await initTrust(tempDir());
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.releaseKeys[0]!.priv]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is not a root key of root v1 or v2; nothing written\n$/);
  });

  it('rotates an expired root (the cure for it) while every other command still refuses it', async () => {
    const t = await initTrust(tempDir());
    const later = new Date('2028-01-01T00:00:00Z'); // trust init's root expires a year after NOW
    const stale = await ota(['verify', join(t.dir, 'policy.json'), '--root', t.dir], { now: later });
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(/^ota: root v1 expired at 2027-11-24T12:00:00Z: newest root has expired/);
    expect(() => loadTrustFolder(t.dir, later)).toThrow(/root v1 expired/);
    const r = await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv], { now: later });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('ota: note: root v1 expired at 2027-11-24T12:00:00Z; rotating replaces it\n');
    expect(loadTrustFolder(t.dir, later).root).toMatchObject({ version: 2, expires: '2028-12-31T00:00:00Z' });
    expect((await ota(['verify', join(t.dir, 'policy.json'), '--root', t.dir], { now: later })).code).toBe(0);
  });

  it('verify works on a folder without online.key.json; an incomplete history is refused', async () => {
    const t = await initTrust(tempDir());
    const b = await keygen('root', join(t.base, 'keys'));
    await ota(['trust', 'rotate', '--trust', t.dir, '--sign-key', t.rootKeys[0]!.priv, '--root-key', b.priv]);
    const pub = join(t.base, 'public-trust');
    mkdirSync(join(pub, 'root'), { recursive: true });
    copyFileSync(join(t.dir, 'root.json'), join(pub, 'root.json'));
    copyFileSync(join(t.dir, 'policy.json'), join(pub, 'policy.json'));
    const missing = await ota(['verify', join(pub, 'root.json'), '--root', pub]);
    expect(missing.err).toContain('incomplete: expected root/1.json');
    copyFileSync(join(t.dir, 'root', '1.json'), join(pub, 'root', '1.json'));
    expect((await ota(['verify', join(pub, 'policy.json'), '--root', pub])).out).toMatch(/^OK settings-policy v1\n {2}root role of root v2/);
  });
});
