import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PublicKey } from '../../protocol/crypto/keys.js';
import { buildRoot, signRotation, type RoleSpec } from '../../protocol/trust/build.js';
import { checkNextRoot, type RoleName, type RootSigned } from '../../protocol/trust/root.js';
import { parsePolicy } from '../../protocol/trust/settings-policy.js';
import { isExpired, toTimestamp } from '../../protocol/trust/time.js';
import { loadRootChain, trustPaths } from '../../trust/trust-folder.js';
import { jsonText, loadKey, loadPrivateKey, parseFile, replaceFile, type LoadedKey } from './cli-files.js';
import { CliError, println, type CliIo } from './io.js';
import { checkedRoot, DAY_MS, rootSigners, signPolicy, warnSharedKeys } from './trust-signing.js';

export interface RotateOptions {
  trust: string;
  signKey?: string[];
  rootKey?: string[];
  rootThreshold?: number;
  releaseKey?: string[];
  releaseThreshold?: number;
  onlineKey?: string;
  expiresDays: number;
}

/** A role of the next root: the keys and threshold given, else the current ones. */
function nextRole(current: RootSigned, role: RoleName, keys: LoadedKey[] | undefined, threshold: number | undefined): RoleSpec {
  const currentKeys = current.roles[role].keyids.map((id) => current.keys[id] as PublicKey);
  return { keys: keys ? keys.map((k) => k.public) : currentKeys, threshold: threshold ?? current.roles[role].threshold };
}

/**
 * `ota trust rotate` (protocol §2, TUF): root N+1, signed by a threshold of
 * root N's keys AND of its own, checked with checkNextRoot before anything is
 * written; then root.json moves to root/N.json and policy.json is re-signed
 * by the new root keys.
 */
export function trustRotate(opts: RotateOptions, io: CliIo): void {
  const paths = trustPaths(opts.trust);
  const now = io.now();
  const chain = loadRootChain(opts.trust, now, { allowExpired: true });
  const current = chain.root;
  if (isExpired(current.expires, now)) println(io.err, `ota: note: root v${current.version} expired at ${current.expires}; rotating replaces it`);

  const rootKeys = opts.rootKey?.map((f) => loadKey(f, io));
  const releaseKeys = opts.releaseKey?.map((f) => loadKey(f, io));
  // Said in the flags' words before the root's own check says "threshold exceeds the number of keys".
  for (const [role, keys, given, flag] of [['root', rootKeys, opts.rootThreshold, '--root'], ['release', releaseKeys, opts.releaseThreshold, '--release']] as const) {
    const threshold = given ?? current.roles[role].threshold;
    // Distinct keys: a key's private and public files are one key.
    const distinct = keys === undefined ? undefined : new Set(keys.map((k) => k.keyid)).size;
    if (distinct !== undefined && distinct < threshold) {
      const kept = given === undefined ? ` (kept from root v${current.version}; pass ${flag}-threshold to change it)` : '';
      throw new CliError(`${flag}-key names ${distinct} distinct key(s) but the ${role} threshold is ${threshold}${kept}: name at least ${threshold}; nothing written`);
    }
  }
  const online = opts.onlineKey !== undefined ? loadKey(opts.onlineKey, io) : undefined;
  const next = checkedRoot(buildRoot({
    version: current.version + 1,
    expires: toTimestamp(new Date(now.getTime() + opts.expiresDays * DAY_MS)),
    roles: {
      root: nextRole(current, 'root', rootKeys, opts.rootThreshold),
      release: nextRole(current, 'release', releaseKeys, opts.releaseThreshold),
      online: nextRole(current, 'online', online ? [online] : undefined, undefined),
    },
  }));

  const signing = [...(opts.signKey ?? []).map((f) => loadPrivateKey(f, io, '--sign-key')), ...(rootKeys ?? []).filter((k) => k.private)];
  for (const k of signing) {
    if (!current.roles.root.keyids.includes(k.keyid) && !next.roles.root.keyids.includes(k.keyid)) {
      throw new CliError(`${k.path} is not a root key of root v${current.version} or v${next.version}; nothing written`);
    }
  }
  const envelope = signRotation(next, rootSigners(signing, current), rootSigners(signing, next));
  const reasons = checkNextRoot(current, envelope);
  if (reasons.length) throw new CliError(`root v${next.version} refused, nothing written: ${reasons.join('; ')}`);

  const policy = signPolicy(parseFile(paths.policy, parsePolicy).signed, next, rootSigners(signing, next));
  const previousText = readFileSync(paths.root, 'utf8');
  const archived = join(paths.rootHistory, `${current.version}.json`);
  if (existsSync(archived) && readFileSync(archived, 'utf8') !== previousText) {
    throw new CliError(`${archived} already exists with other content; nothing written`);
  }
  warnSharedKeys(next, io);

  mkdirSync(paths.rootHistory, { recursive: true, mode: 0o700 });
  if (!existsSync(archived)) writeFileSync(archived, previousText, { flag: 'wx' });
  replaceFile(paths.root, jsonText(envelope));
  replaceFile(paths.policy, jsonText(policy));
  if (online?.private) replaceFile(paths.onlineKey, jsonText(online.private), 0o600);

  println(io.out, `trust folder ${opts.trust}: root v${current.version} → v${next.version} (expires ${next.expires}); v${current.version} kept as ${archived}`);
  for (const role of ['root', 'release', 'online'] as const) {
    const r = next.roles[role];
    println(io.out, `  ${role}: threshold ${r.threshold} of ${r.keyids.join(', ')}`);
  }
  println(io.out, `  policy.json v${policy.signed.version} re-signed by ${policy.signatures.map((s) => s.keyid).join(', ')}`);
  if (online && !online.private) println(io.err, `ota: warning: --online-key is a public key; put its private key at ${paths.onlineKey} (0600) before serving`);
}
