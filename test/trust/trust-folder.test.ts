import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import examplePolicy from '../../manifests/policy.json' with { type: 'json' };
import { signEnvelope } from '../../server/protocol/crypto/envelope.js';
import { generatePrivateKey, type PrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { buildRoot, signRotation } from '../../server/protocol/trust/build.js';
import type { PolicySigned } from '../../server/protocol/trust/settings-policy.js';
import { loadTrustFolder, TrustFolderError, trustPaths } from '../../server/trust/trust-folder.js';
import { FUTURE, tempDir } from '../helpers/fixtures.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const policy = examplePolicy as PolicySigned;
const gen = (n: number) => Array.from({ length: n }, () => generatePrivateKey());
const signers = (keys: PrivateKey[]) => keys.map(ed25519Signer);
/** Written the way another tool following protocol §1 would: plain JSON, no trailing newline. */
const write = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value));

interface Folder {
  dir: string;
  rootKeys: PrivateKey[][];
  release: PrivateKey[];
  online: PrivateKey;
}

/** A trust folder rotated to v3: root.json = v3, root/1.json, root/2.json, policy.json, online.key.json. */
function rotatedFolder(opts: { policySigners?: 'root' | 'release' | 'old-root'; onlineListed?: boolean } = {}): Folder {
  const dir = tempDir('ota-trustdir-');
  const rootKeys = [gen(1), gen(2), gen(1)];
  const release = gen(1);
  const online = generatePrivateKey();
  const body = (version: number) =>
    buildRoot({
      version,
      expires: FUTURE,
      roles: {
        root: { keys: rootKeys[version - 1] as PrivateKey[], threshold: version === 2 ? 2 : 1 },
        release: { keys: release, threshold: 1 },
        online: { keys: opts.onlineListed === false ? [generatePrivateKey()] : [online], threshold: 1 },
      },
    });
  const r1 = signEnvelope({ signed: body(1) }, signers(rootKeys[0] as PrivateKey[]));
  const r2 = signRotation(body(2), signers(rootKeys[0] as PrivateKey[]), signers(rootKeys[1] as PrivateKey[]));
  const r3 = signRotation(body(3), signers(rootKeys[1] as PrivateKey[]), signers(rootKeys[2] as PrivateKey[]));
  const paths = trustPaths(dir);
  mkdirSync(paths.rootHistory, { recursive: true });
  write(join(paths.rootHistory, '1.json'), r1);
  write(join(paths.rootHistory, '2.json'), r2);
  write(paths.root, r3);
  const policyKeys = { root: rootKeys[2] as PrivateKey[], release, 'old-root': rootKeys[0] as PrivateKey[] }[opts.policySigners ?? 'root'];
  write(paths.policy, signEnvelope({ signed: policy }, signers(policyKeys)));
  write(paths.onlineKey, online);
  return { dir, rootKeys, release, online };
}

describe('loadTrustFolder (protocol §1 layout)', () => {
  it('loads a rotated folder: whole chain, current root v3, policy, online key', () => {
    const f = rotatedFolder();
    const t = loadTrustFolder(f.dir, NOW);
    expect(t.roots.map((r) => r.signed.version)).toEqual([1, 2, 3]);
    expect(t.root.version).toBe(3);
    expect(t.policy.signed.version).toBe(1);
    expect(t.onlineKey).toEqual(f.online);
  });

  it('loads a folder holding only root.json v1 (no root/ history)', () => {
    const dir = tempDir();
    const k = generatePrivateKey();
    const online = generatePrivateKey();
    const root = buildRoot({ version: 1, expires: FUTURE, roles: { root: { keys: [k], threshold: 1 }, release: { keys: [k], threshold: 1 }, online: { keys: [online], threshold: 1 } } });
    const paths = trustPaths(dir);
    write(paths.root, signEnvelope({ signed: root }, [ed25519Signer(k)]));
    write(paths.policy, signEnvelope({ signed: policy }, [ed25519Signer(k)]));
    write(paths.onlineKey, online);
    expect(loadTrustFolder(dir, NOW).roots).toHaveLength(1);
  });

  it.each([
    ['signed by a release key', 'release'],
    ['signed only by a root key that was rotated out', 'old-root'],
  ] as const)('refuses a policy %s', (_name, policySigners) => {
    const f = rotatedFolder({ policySigners });
    expect(() => loadTrustFolder(f.dir, NOW)).toThrow(/policy\.json is not signed by the root role/);
  });

  it('refuses a folder whose history misses a version', () => {
    const f = rotatedFolder();
    rmSync(join(trustPaths(f.dir).rootHistory, '2.json'));
    expect(() => loadTrustFolder(f.dir, NOW)).toThrow(/expected root\/2\.json/);
  });

  it('refuses an online key that the root does not list', () => {
    const f = rotatedFolder({ onlineListed: false });
    expect(() => loadTrustFolder(f.dir, NOW)).toThrow(/not a key of the online role/);
  });

  it('refuses an expired newest root', () => {
    const f = rotatedFolder();
    expect(() => loadTrustFolder(f.dir, new Date('2100-01-01T00:00:00Z'))).toThrow(TrustFolderError);
  });

  it('refuses a policy.json that is not JSON, naming the file and not its contents', () => {
    const f = rotatedFolder();
    writeFileSync(trustPaths(f.dir).policy, '{"secret": ');
    expect(() => loadTrustFolder(f.dir, NOW)).toThrow(/policy\.json is not valid JSON$/);
  });
});
