import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/protocol/crypto/canonical.js';
import { fromHex } from '../../server/protocol/crypto/encoding.js';
import { parsePrivateKey } from '../../server/protocol/crypto/keys.js';
import { releaseBody, signWith, tempDir } from '../helpers/fixtures.js';
import { initTrust, ota, readJson, writeJsonFile } from './cli-harness.js';

interface Env {
  signed: Record<string, unknown>;
  signatures: { keyid: string; sig: string }[];
}

describe('ota sign + ota verify: release thresholds', () => {
  it('refuses one release signature when the threshold is 2, accepts after a second `ota sign`', async () => {
    const t = await initTrust(tempDir(), { releaseKeys: 2, releaseThreshold: 2 });
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody()); // a bare signed body: sign wraps it
    const [k1, k2] = t.releaseKeys as [typeof t.releaseKeys[0], typeof t.releaseKeys[0]];

    expect((await ota(['sign', file, '--key', k1.priv])).code).toBe(0);
    const once = await ota(['verify', file, '--root', t.dir]);
    expect(once.code).toBe(1);
    expect(once.err).toContain('release (root v1) role needs 2 valid signature(s) from distinct keys, found 1');

    const twice = await ota(['sign', file, '--key', k1.priv]);
    expect(twice.out).toContain('replaced its earlier signature');
    expect((readJson(file) as Env).signatures).toHaveLength(1);
    expect((await ota(['verify', file, '--root', t.dir])).code).toBe(1);

    expect((await ota(['sign', file, '--key', k2.priv])).code).toBe(0);
    const ok = await ota(['verify', file, '--root', t.dir]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK release redmi-1s-cloud-optin-2014-08\n/);
    expect(ok.out).toContain(`signed by ${k1.keyid}`);
    expect(ok.out).toContain(`signed by ${k2.keyid}`);
    expect(ok.out).toContain('settings allowed by settings policy v1');
    // a pinned root.json works as well as the folder
    expect((await ota(['verify', file, '--root', join(t.dir, 'root.json')])).code).toBe(0);
  });

  it('counts the same signature twice once', async () => {
    const t = await initTrust(tempDir(), { releaseKeys: 2, releaseThreshold: 2 });
    const file = join(t.base, 'release.json');
    const key = parsePrivateKey(readJson(t.releaseKeys[0]!.priv));
    const env = signWith(releaseBody(), [key]);
    writeJsonFile(file, { ...env, signatures: [env.signatures[0], env.signatures[0]] });
    const r = await ota(['verify', file, '--root', t.dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('found 1');
    expect(r.err).toContain('duplicate_keyid');
  });

  it('refuses a release signed by a key of the wrong role', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody());
    await ota(['sign', file, '--key', t.rootKeys[0]!.priv]);
    const r = await ota(['verify', file, '--root', t.dir]);
    expect(r.code).toBe(1);
    // The reason word stays; the words after it say what the key is (issue 18).
    expect(r.err).toContain(`${t.rootKeys[0]!.keyid.slice(0, 12)}…: unknown_keyid (a root key, not a release key)`);
  });

  it('refuses a tampered body', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody());
    await ota(['sign', file, '--key', t.releaseKeys[0]!.priv]);
    const env = readJson(file) as Env;
    writeJsonFile(file, { ...env, signed: { ...env.signed, appliesTo: '>=0.0.0' } });
    const r = await ota(['verify', file, '--root', t.dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad_signature');
  });

  it('refuses an expired release at --at, and names every reason at once', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    writeJsonFile(file, releaseBody({ expires: '2026-12-01T00:00:00Z' }));
    await ota(['sign', file, '--key', t.releaseKeys[0]!.priv]);
    expect((await ota(['verify', file, '--root', t.dir, '--at', '2026-11-30T00:00:00Z'])).code).toBe(0);
    const late = await ota(['verify', file, '--root', t.dir, '--at', '2026-12-02T00:00:00Z']);
    expect(late.code).toBe(1);
    expect(late.err).toContain('the release expired at 2026-12-01T00:00:00Z');
  });

  it('`verify --policy` refuses a release enabling a consent setting, naming the setting and P2', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'negative.json');
    writeJsonFile(file, releaseBody({ id: 'enable-cloud-messaging', settings: [{ key: 'cloud.messaging.enabled', value: true, mode: 'reset' }] }));
    await ota(['sign', file, '--key', t.releaseKeys[0]!.priv]);
    const r = await ota(['verify', file, '--root', join(t.dir, 'root.json'), '--policy', join(t.dir, 'policy.json')]);
    expect(r.code).toBe(1);
    // the same `code path: message` line as `ota publish` prints for the server's 422
    expect(r.err).toMatch(/^ {2}- policy_violation cloud\.messaging\.enabled: P2: /m);
    // a policy that the root role did not sign is itself refused
    const forged = join(t.base, 'forged-policy.json');
    writeJsonFile(forged, { ...(readJson(join(t.dir, 'policy.json')) as Env), signatures: [] });
    const f = await ota(['verify', file, '--root', t.dir, '--policy', forged]);
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/^ota: .*forged-policy\.json is not signed by the root role/);
  });

  it('verifies settings-policy and rollout documents by their roles', async () => {
    const t = await initTrust(tempDir());
    expect((await ota(['verify', join(t.dir, 'policy.json'), '--root', t.dir])).out).toMatch(/^OK settings-policy v1/);
    const online = parsePrivateKey(readJson(join(t.dir, 'online.key.json')));
    const statement = {
      type: 'rollout', rolloutId: 'r1', releaseId: 'redmi-1s-cloud-optin-2014-08', manifestSha256: 'a'.repeat(64), stage: 0, cohort: 'all',
      basisPoints: 100, salt: 'b'.repeat(32), version: 1, issuedAt: '2026-11-24T11:00:00Z', expires: '2026-11-24T13:00:00Z',
    };
    const file = join(t.base, 'rollout.json');
    writeJsonFile(file, signWith(statement, [online]));
    expect((await ota(['verify', file, '--root', t.dir])).code).toBe(0);
    expect((await ota(['verify', file, '--root', t.dir, '--at', '2026-11-24T14:00:00Z'])).err).toContain('rollout statement expired');
    writeJsonFile(file, signWith(statement, [parsePrivateKey(readJson(t.releaseKeys[0]!.priv))]));
    expect((await ota(['verify', file, '--root', t.dir])).code).toBe(1);
  });

  it('refuses floats, non-documents and public keys in `ota sign` with one line', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'float.json');
    writeJsonFile(file, { signed: { ...releaseBody(), size: 1.5 }, signatures: [] });
    const before = readFileSync(file, 'utf8');
    const f = await ota(['sign', file, '--key', t.releaseKeys[0]!.priv]);
    expect(f).toMatchObject({ code: 1, err: `ota: cannot sign ${file}: signed bodies carry integers only; /size is not a safe integer\n` });
    expect(readFileSync(file, 'utf8')).toBe(before);
    writeJsonFile(file, [1, 2]);
    expect((await ota(['sign', file, '--key', t.releaseKeys[0]!.priv])).err).toBe(`ota: ${file} is not a JSON object\n`);
    writeJsonFile(file, releaseBody());
    expect((await ota(['sign', file, '--key', t.releaseKeys[0]!.pub])).err).toMatch(/is a public key; signing needs a private key file\n$/);
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('interoperability', () => {
  it.skipIf(!hasOpenssl)('a signature made by `ota sign` verifies with openssl pkeyutl -verify -rawin', async () => {
    const t = await initTrust(tempDir());
    const file = join(t.base, 'release.json');
    const out = join(t.base, 'release.signed.json');
    writeJsonFile(file, releaseBody());
    expect((await ota(['sign', file, '--key', t.releaseKeys[0]!.priv, '--out', out])).code).toBe(0);
    const env = readJson(out) as Env;
    const pub = (readJson(t.releaseKeys[0]!.pub) as { keyval: { public: string } }).keyval.public;
    const der = Buffer.from(`302a300506032b6570032100${pub}`, 'hex');
    const pem = join(t.base, 'release.pub.pem');
    writeFileSync(pem, `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`);
    const msg = join(t.base, 'signed.jcs');
    const sig = join(t.base, 'sig.bin');
    writeFileSync(msg, canonicalJson(env.signed));
    writeFileSync(sig, fromHex(env.signatures[0]!.sig));
    const verify = () => spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', msg, '-sigfile', sig], { encoding: 'utf8' });
    const ok = verify();
    expect(ok.stdout + ok.stderr).toContain('Signature Verified Successfully');
    expect(ok.status).toBe(0);
    writeFileSync(msg, canonicalJson({ ...env.signed, mandatory: true }));
    expect(verify().status).not.toBe(0);
  });

  const hasJq = spawnSync('jq', ['--version']).status === 0;
  it.skipIf(!hasJq)('the README recipe `jq -jcS .signed` yields the JCS bytes of an ASCII, integer-only body', async () => {
    const dir = tempDir();
    const file = join(dir, 'release.json');
    const env = { signed: releaseBody({ artifact: { sha256: 'c'.repeat(64), size: 1234 }, version: '1.4.3', notes: 'Cloud messaging becomes opt-in.' }), signatures: [] };
    writeJsonFile(file, env);
    const jq = spawnSync('jq', ['-jcS', '.signed', file], { encoding: 'utf8' });
    expect(jq.stdout).toBe(canonicalJson(env.signed));
  });
});
