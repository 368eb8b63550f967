import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyIdOf, parsePublicKey } from '../../server/protocol/crypto/keys.js';
import { loadTrustFolder } from '../../server/trust/trust-folder.js';
import { tempDir } from '../helpers/fixtures.js';
import { keygen, modeOf, NOW, ota, readJson, writeJsonFile } from './cli-harness.js';

describe('ota keygen', () => {
  it('writes <role>-<keyid8>.key.json (0600) and a protocol §1 public key object', async () => {
    const dir = join(tempDir(), 'keys');
    const k = await keygen('release', dir);
    expect(k.priv).toBe(join(dir, `release-${k.keyid.slice(0, 8)}.key.json`));
    expect(k.pub).toBe(join(dir, `release-${k.keyid.slice(0, 8)}.pub.json`));
    expect(modeOf(k.priv)).toBe(0o600);
    const pub = readJson(k.pub) as Record<string, unknown>;
    expect(Object.keys(pub).sort()).toEqual(['keytype', 'keyval', 'scheme']);
    expect(Object.keys(pub.keyval as object)).toEqual(['public']);
    expect(keyIdOf(parsePublicKey(pub))).toBe(k.keyid);
    const priv = readJson(k.priv) as { keyval: { private: string } };
    expect(priv.keyval.private).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(dir).sort()).toEqual([`release-${k.keyid.slice(0, 8)}.key.json`, `release-${k.keyid.slice(0, 8)}.pub.json`]);
  });

  it('refuses an unknown role with one line and writes nothing', async () => {
    const dir = join(tempDir(), 'keys');
    const r = await ota(['keygen', '--role', 'admin', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ota: --role must be one of root, release, online, got "admin"\n');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('ota trust init', () => {
  it('writes the spec §1 layout that loadTrustFolder accepts', async () => {
    const base = tempDir();
    const roots = [await keygen('root', base), await keygen('root', base)];
    const releases = [await keygen('release', base), await keygen('release', base)];
    const trust = join(base, 'trust');
    const r = await ota(['trust', 'init', '--out', trust, '--root-key', roots[0]!.priv, roots[1]!.priv, '--root-threshold', '2',
      '--release-key', releases[0]!.pub, releases[1]!.pub, '--release-threshold', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(trust).sort()).toEqual(['online.key.json', 'policy.json', 'root', 'root.json']);
    expect(modeOf(join(trust, 'online.key.json'))).toBe(0o600);
    const folder = loadTrustFolder(trust, NOW);
    expect(folder.root.version).toBe(1);
    expect(folder.root.roles.root).toEqual({ keyids: [roots[0]!.keyid, roots[1]!.keyid], threshold: 2 });
    expect(folder.root.roles.release).toEqual({ keyids: [releases[0]!.keyid, releases[1]!.keyid], threshold: 2 });
    expect(folder.root.expires).toBe('2027-11-24T12:00:00Z');
    expect(folder.policy.signed.settings['cloud.messaging.enabled']?.consent).toBe(true);
  });

  it('copies a private --online-key and uses a --policy body', async () => {
    const base = tempDir();
    const root = await keygen('root', base);
    const release = await keygen('release', base);
    const online = await keygen('online', base);
    const policy = join(base, 'policy.json');
    writeJsonFile(policy, { type: 'settings-policy', version: 7, settings: { 'display.brightness.auto': { type: 'boolean' } } });
    const trust = join(base, 'trust');
    const r = await ota(['trust', 'init', '--out', trust, '--root-key', root.priv, '--release-key', release.pub, '--online-key', online.priv, '--policy', policy, '--expires-days', '30']);
    expect(r.code).toBe(0);
    const folder = loadTrustFolder(trust, NOW);
    expect(keyIdOf(folder.onlineKey)).toBe(online.keyid);
    expect(folder.policy.signed.version).toBe(7);
    expect(folder.root.expires).toBe('2026-12-24T12:00:00Z');
  });

  it('refuses when the private root keys given cannot reach the root threshold, writing nothing', async () => {
    const base = tempDir();
    const a = await keygen('root', base);
    const b = await keygen('root', base);
    const release = await keygen('release', base);
    const trust = join(base, 'trust');
    const r = await ota(['trust', 'init', '--out', trust, '--root-key', a.priv, b.pub, '--root-threshold', '2', '--release-key', release.pub]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ota: root threshold is 2 but 1 private root key file\(s\) were given/);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(existsSync(trust)).toBe(false);
  });

  it('refuses a threshold above the number of keys and an existing trust folder', async () => {
    const base = tempDir();
    const root = await keygen('root', base);
    const release = await keygen('release', base);
    const trust = join(base, 'trust');
    const high = await ota(['trust', 'init', '--out', trust, '--root-key', root.priv, '--release-key', release.pub, '--release-threshold', '2']);
    expect(high.code).toBe(1);
    expect(high.err).toContain('threshold exceeds the number of keys');
    expect((await ota(['trust', 'init', '--out', trust, '--root-key', root.priv, '--release-key', release.pub])).code).toBe(0);
    const again = await ota(['trust', 'init', '--out', trust, '--root-key', root.priv, '--release-key', release.pub]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already exist');
  });
});
