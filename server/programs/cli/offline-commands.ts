import type { Command } from 'commander';
import type { RoleName } from '../../protocol/trust/root.js';
import { intOption, type CliIo } from './io.js';
import type { InitOptions } from './trust-init-command.js';
import type { RotateOptions } from './trust-rotate-command.js';
import type { VerifyOptions } from './verify-command.js';

/**
 * The release manager's offline tools as commands: keygen, trust init and
 * rotate, sign, verify. Each action loads its command's module (signing,
 * the root chain, the JSON Schemas) when it runs, so `ota --help` and the
 * other commands start without them.
 */

export const ROLE_NAMES: readonly RoleName[] = ['root', 'release', 'online'];

const thresholdOption = (flag: string) => intOption(flag, 1, 64);
const expiresDaysOption = intOption('--expires-days', 1, 36500);

export function registerKeygen(program: Command, io: CliIo): void {
  program
    .command('keygen')
    .description('generate an Ed25519 key pair for a role (private file 0600 + public key object)')
    .requiredOption('--role <role>', `key role: ${ROLE_NAMES.join(' | ')}`)
    .requiredOption('--out <dir>', 'folder to write <role>-<keyid8>.key.json and .pub.json into')
    .action(async (opts: { role: string; out: string }) => (await import('./keygen-command.js')).keygen(opts.role, opts.out, io));
}

export function registerTrustInit(trust: Command, io: CliIo): void {
  trust
    .command('init')
    .description('create a trust folder: root v1 and policy.json signed by the private root keys given')
    .requiredOption('--out <dir>', 'trust folder to create')
    .requiredOption('--root-key <files...>', 'root key files (public or private; private ones sign)')
    .option('--root-threshold <n>', 'root signatures required', thresholdOption('--root-threshold'), 1)
    .requiredOption('--release-key <files...>', 'release key files (public or private)')
    .option('--release-threshold <n>', 'release signatures required', thresholdOption('--release-threshold'), 1)
    .option('--online-key <file>', 'online key file (default: generate one into <out>/online.key.json)')
    .option('--policy <file>', 'unsigned settings-policy body (default: the example manifests/policy.json)')
    .option('--expires-days <n>', 'days until root v1 expires', expiresDaysOption, 365)
    .action(async (opts: InitOptions) => (await import('./trust-init-command.js')).trustInit(opts, io));
}

export function registerTrustRotate(trust: Command, io: CliIo): void {
  trust
    .command('rotate')
    .description('write root N+1 (signed by a threshold of the old AND the new root keys) and re-sign policy.json')
    .requiredOption('--trust <dir>', 'trust folder to rotate')
    .option('--sign-key <files...>', 'private root key files (old and/or new) that sign root N+1')
    .option('--root-key <files...>', 'new root keys (default: keep the current ones); private ones also sign')
    .option('--root-threshold <n>', 'new root threshold (default: current)', thresholdOption('--root-threshold'))
    .option('--release-key <files...>', 'new release keys (default: keep the current ones)')
    .option('--release-threshold <n>', 'new release threshold (default: current)', thresholdOption('--release-threshold'))
    .option('--online-key <file>', 'new online key (a private one replaces online.key.json)')
    .option('--expires-days <n>', 'days until the new root expires', expiresDaysOption, 365)
    .action(async (opts: RotateOptions) => (await import('./trust-rotate-command.js')).trustRotate(opts, io));
}

export function registerSign(program: Command, io: CliIo): void {
  program
    .command('sign')
    .description('add one signature to an envelope (or wrap a bare signed body); run again with another key to reach a threshold')
    .argument('<file>', 'envelope or bare signed body (JSON)')
    .requiredOption('--key <file>', 'private key file')
    .option('--out <file>', 'write here instead of replacing <file>')
    .option('--root <path>', 'trusted root.json or trust folder: refuse a key that is not of the role that signs this document there (release keys for a release)')
    .action(async (file: string, opts: { key: string; out?: string; root?: string }) => (await import('./sign-command.js')).signFile(file, opts.key, opts.out, io, opts.root));
}

export function registerVerify(program: Command, io: CliIo, exit: (code: number) => void): void {
  program
    .command('verify')
    .description('verify a release, root, settings-policy or rollout document against a trusted root, offline')
    .argument('<file>', 'signed document (envelope)')
    .requiredOption('--root <path>', 'trusted root.json, or a trust folder (its root chain is walked from v1)')
    .option('--policy <file>', 'signed settings policy to check a release against (default: policy.json of a trust folder)')
    .option('--at <timestamp>', 'verify as of this RFC 3339 instant (default: now)')
    .action(async (file: string, opts: VerifyOptions) => exit((await import('./verify-command.js')).verifyFile(file, opts, io)));
}
