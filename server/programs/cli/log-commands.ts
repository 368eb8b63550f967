import type { Command } from 'commander';
import type { AuditFlags } from './audit-command.js';
import { serverOptions, type ServerOptions } from './http-client.js';
import { CliError, type CliIo } from './io.js';
import type { WitnessFlags } from './witness-command.js';

type LogOptions = ServerOptions & { json?: boolean; verify?: boolean; subject?: string };

/**
 * The commands that check the logs: `ota audit` (the transparency log,
 * protocol §8), `ota audit log` (the server's audit chain) and `ota
 * witness`. Each action loads its command's module when it runs, so `ota
 * --help` and the other commands start without the log replay, the Merkle
 * proofs and the schemas.
 */
export function registerAudit(program: Command, io: CliIo, exit: (code: number) => void): Command {
  return program
    .command('audit')
    .description('audit the transparency log (protocol §8) from a trusted root: every entry, the tree, the signed checkpoint')
    // Checked in the action, not as commander's required options: those would also be demanded of subcommands.
    .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080 (default: $OTA_SERVER, then ota login)')
    .option('--root <path>', 'the trusted root: a root.json (normally v1, as devices ship) or a trust folder (required)')
    .option('--state <file>', 'checkpoint kept from the last audit: prove the log extends it, then keep the new one')
    .option('--json', 'print the result as JSON')
    .action(async (flags: Partial<AuditFlags>) => {
      if (flags.root === undefined) throw new CliError('ota audit needs --root');
      // The server as every command finds it; no token: the log routes are public (protocol §8).
      const server = (await import('./profile.js')).resolveServer(flags.server, io);
      exit(await (await import('./audit-command.js')).auditTransparencyLog({ ...flags, root: flags.root, server }, io));
    });
}

export function registerAuditLog(audit: Command, io: CliIo, exit: (code: number) => void): void {
  serverOptions(audit.command('log').description("the server's hash-chained audit log (GET /v1/audit), oldest first"))
    .option('--verify', 'recompute the hash chain and exit 1 at the first entry that breaks')
    .option('--subject <id>', 'only entries about this rollout, release, cohort...')
    .option('--json', 'print the entries as JSON')
    // `ota audit` has --server and --json of its own, and commander gives a flag to the parent that
    // declares it too: read both levels.
    .action(async (_opts: LogOptions, cmd: Command) => exit(await (await import('./audit-log-command.js')).auditLog(cmd.optsWithGlobals<LogOptions>(), io)));
}

export function registerWitness(program: Command, io: CliIo, exit: (code: number) => void): void {
  program
    .command('witness')
    .description('witness the transparency log (protocol §8): verify the checkpoint, prove it extends the one kept, cosign it (C2SP tlog-cosignature/v1)')
    .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080 (default: $OTA_SERVER, then ota login)')
    .requiredOption('--root <path>', 'the trusted root: a root.json or a trust folder')
    .requiredOption('--key <file>', "the witness's Ed25519 private key file (ota keygen)")
    .requiredOption('--name <name>', 'the witness name in its cosignature lines, e.g. witness.example.org')
    .requiredOption('--state <file>', 'the checkpoint this witness kept; created on the first run')
    .option('--submit', 'also send the cosignature to the server (POST /v1/log/cosignatures), which serves it with the checkpoint')
    .option('--json', 'print the result as JSON')
    .action(async (flags: Omit<WitnessFlags, 'server'> & { server?: string }) => {
      // The server as every command finds it; no token: the witness reads public log routes (protocol §8).
      const server = (await import('./profile.js')).resolveServer(flags.server, io);
      exit(await (await import('./witness-command.js')).witnessCheckpoint({ ...flags, server }, io));
    });
}
