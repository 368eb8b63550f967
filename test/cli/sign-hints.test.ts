import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearer, releaseBody, tempDir } from '../helpers/fixtures.js';
import { initTrust, keygen, ota, writeJsonFile } from './cli-harness.js';
import { listen } from './cli-server.js';

describe('unsigned or wrongly signed files: one line and the command that fixes it (issue 9)', () => {
  it('ota publish of a bare body or an envelope without signatures sends nothing and says to sign', async () => {
    const s = await listen();
    const dir = tempDir();
    const bare = join(dir, 'bare.json');
    writeJsonFile(bare, releaseBody());
    const at = ['--server', s.url, '--token', s.tokens['release-manager']];
    const r = await ota(['publish', bare, ...at]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(`ota: ${bare} is not signed (a bare release body): sign it with ota sign ${bare} --key RELEASE.key.json (once per key, up to the release threshold), check it with ota verify ${bare} --root TRUST, then publish\n`);
    const empty = join(dir, 'empty.json');
    writeJsonFile(empty, { signed: releaseBody(), signatures: [] });
    expect((await ota(['publish', empty, ...at])).err).toMatch(/^ota: \S+empty\.json is not signed \(an envelope with no signatures\): sign it with ota sign /);
    expect((await request(s.app).get('/v1/releases').set(bearer(s.tokens.viewer))).body.releases).toEqual([]);
  });

  it('a release signed by a key the server does not trust: the 422, then the fix', async () => {
    const s = await listen();
    const dir = tempDir();
    const stranger = await keygen('release', join(dir, 'keys'));
    const file = join(dir, 'release.json');
    writeJsonFile(file, releaseBody());
    expect((await ota(['sign', file, '--key', stranger.priv])).code).toBe(0);
    const r = await ota(['publish', file, '--server', s.url, '--token', s.tokens['release-manager']]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ota: signature_invalid: /);
    expect(r.err).toContain(`\nota: fix: ota verify ${file} --root TRUST shows which signatures count; add one with ota sign ${file} --key KEY (a release key of the root), until the release threshold is met\n`);
  });

  it('ota verify: unsigned is one line; a root key on a release says how to fix it', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody({ issuedAt: '2026-11-24T10:00:00Z' }));
    const unsigned = await ota(['verify', file, '--root', t.dir]);
    expect(unsigned).toMatchObject({ code: 1, out: '' });
    expect(unsigned.err.trim().split('\n')).toHaveLength(1);
    expect(unsigned.err).toMatch(/is not signed \(a bare release body\): sign it with ota sign/);

    expect((await ota(['sign', file, '--key', (t.rootKeys[0] as { priv: string }).priv])).code).toBe(0);
    const wrong = await ota(['verify', file, '--root', t.dir]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain(`ota: fix: ota verify ${file} --root TRUST shows which signatures count; add one with ota sign ${file} --key KEY (a release key of the root)`);
  });

  it('ota sign --root refuses a key that is not a release key there and writes nothing', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody());
    const before = readFileSync(file, 'utf8');
    const rootKey = t.rootKeys[0] as { priv: string; keyid: string };
    const r = await ota(['sign', file, '--key', rootKey.priv, '--root', t.dir]);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(`ota: ${rootKey.priv} (keyid ${rootKey.keyid.slice(0, 16)}…) is a root key of root v1, not one of its release keys (${(t.releaseKeys[0] as { keyid: string }).keyid.slice(0, 8)}); a release needs release keys: nothing was signed\n`);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const stranger = await keygen('release', join(t.base, 'other'));
    expect((await ota(['sign', file, '--key', stranger.priv, '--root', t.dir])).err).toMatch(/is not a key of root v1, not one of its release keys/);

    const ok = await ota(['sign', file, '--key', (t.releaseKeys[0] as { priv: string }).priv, '--root', join(t.dir, 'root.json')]);
    expect(ok).toMatchObject({ code: 0, err: '' });
    const unchecked = await ota(['sign', file, '--key', (t.releaseKeys[0] as { priv: string }).priv]);
    expect(unchecked.err).toBe('ota: note: the key was not checked against a trust root; pass --root TRUST to refuse a key that is not a release key there\n');
  });
});
