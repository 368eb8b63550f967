import { mkdirSync } from 'node:fs';
import { signEnvelope } from '../../protocol/crypto/envelope.js';
import { writePrivateKeyFile } from '../../protocol/crypto/key-files.js';
import { generatePrivateKey, keyIdOf } from '../../protocol/crypto/keys.js';
import { buildRoot } from '../../protocol/trust/build.js';
import { verifyForRole } from '../../protocol/trust/root.js';
import { toTimestamp } from '../../protocol/trust/time.js';
import { trustPaths } from '../../trust/trust-folder.js';
import { jsonText, loadKey, refuseExisting, replaceFile } from './cli-files.js';
import { CliError, println, type CliIo } from './io.js';
import { checkedRoot, DAY_MS, readPolicyBody, rootSigners, signPolicy, warnSharedKeys } from './trust-signing.js';

export interface InitOptions {
  out: string;
  rootKey: string[];
  rootThreshold: number;
  releaseKey: string[];
  releaseThreshold: number;
  onlineKey?: string;
  policy?: string;
  expiresDays: number;
}

/**
 * `ota trust init`: a new trust folder (protocol §1) with root v1 and the
 * settings policy, both signed by the private root keys given, which must
 * reach the root threshold. Everything is checked before anything is written.
 */
export function trustInit(opts: InitOptions, io: CliIo): void {
  const paths = trustPaths(opts.out);
  refuseExisting([paths.root, paths.policy, paths.onlineKey], 'trust init creates a new trust folder (use trust rotate to change one)');
  const rootKeys = opts.rootKey.map((f) => loadKey(f, io));
  const releaseKeys = opts.releaseKey.map((f) => loadKey(f, io));
  const online = opts.onlineKey !== undefined ? loadKey(opts.onlineKey, io) : undefined;
  const onlinePrivate = online ? online.private : generatePrivateKey();
  const policyBody = readPolicyBody(opts.policy);

  const root = checkedRoot(buildRoot({
    version: 1,
    expires: toTimestamp(new Date(io.now().getTime() + opts.expiresDays * DAY_MS)),
    roles: {
      root: { keys: rootKeys.map((k) => k.public), threshold: opts.rootThreshold },
      release: { keys: releaseKeys.map((k) => k.public), threshold: opts.releaseThreshold },
      online: { keys: [online ? online.public : (onlinePrivate as NonNullable<typeof onlinePrivate>)], threshold: 1 },
    },
  }));
  const signers = rootSigners(rootKeys, root);
  const rootEnvelope = signEnvelope({ signed: root }, signers);
  const byRoot = verifyForRole(root, 'root', rootEnvelope);
  if (!byRoot.met) {
    throw new CliError(`root threshold is ${root.roles.root.threshold} but ${signers.length} private root key file(s) were given; pass enough private --root-key files to sign root v1`);
  }
  const policy = signPolicy(policyBody, root, signers);
  warnSharedKeys(root, io);

  mkdirSync(paths.rootHistory, { recursive: true, mode: 0o700 });
  if (onlinePrivate) writePrivateKeyFile(paths.onlineKey, onlinePrivate);
  replaceFile(paths.policy, jsonText(policy));
  replaceFile(paths.root, jsonText(rootEnvelope)); // last: its presence marks the folder complete

  println(io.out, `trust folder ${opts.out}: root v1 (expires ${root.expires}), settings policy v${policy.signed.version}`);
  for (const role of ['root', 'release', 'online'] as const) {
    const r = root.roles[role];
    println(io.out, `  ${role}: threshold ${r.threshold} of ${r.keyids.join(', ')}`);
  }
  if (onlinePrivate) {
    println(io.out, `  online key: ${paths.onlineKey} (0600${online ? '' : ', generated'}; keyid ${keyIdOf(onlinePrivate)})`);
  } else {
    println(io.err, `ota: warning: --online-key is a public key; put its private key at ${paths.onlineKey} (0600) before serving`);
  }
}
