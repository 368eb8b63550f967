import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../../files/package-root.js';
// Commands whose modules are heavy (signing, schemas, the log replay, the agent, the server) are
// registered from light definition files whose actions import the module when the command runs:
// `ota --help` and the HTTP commands start without them.
import { registerCohort } from './cohort-commands.js';
import { registerDevice } from './device-commands.js';
import { registerFleet, registerQa } from './fleet-qa-commands.js';
import { registerHttp } from './http-commands.js';
import { CliError, describeError, println, processIo, type CliIo } from './io.js';
import { registerAudit, registerAuditLog, registerWitness } from './log-commands.js';
import { registerLogin } from './login-command.js';
import { registerKeygen, registerSign, registerTrustInit, registerTrustRotate, registerVerify } from './offline-commands.js';
import { registerRelease } from './release-commands.js';
import { registerRollout } from './rollout-commands.js';
import { registerServe } from './serve-command.js';
import { registerToken } from './token-command.js';

/** commander does not mark required options in --help; every one is marked here, in one place. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description = `${o.description} (required)`;
  for (const c of cmd.commands) markRequired(c);
}

/** The `ota` command tree; `exit` records a command's exit code. */
export function buildProgram(io: CliIo, exit: (code: number) => void): Command {
  const program = new Command('ota')
    .description("OTA update server and the release manager's offline tools (protocol: docs/protocol.md)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    .version(packageVersion(), '-V, --version', 'print the ota version')
    // `ota --version` is the program's; after a command, `--version` is that command's own (`ota fleet simulate --version 1.0.0`).
    .enablePositionalOptions();
  registerKeygen(program, io);
  const trust = program.command('trust').description('trust folders: root documents and the settings policy');
  registerTrustInit(trust, io);
  registerTrustRotate(trust, io);
  registerSign(program, io);
  registerVerify(program, io, exit);
  registerToken(program, io, exit);
  registerHttp(program, io, exit);
  registerRelease(program, io, exit);
  registerCohort(program, io, exit);
  registerRollout(program, io, exit);
  registerFleet(program, io, exit);
  registerQa(program, io, exit);
  registerAuditLog(registerAudit(program, io, exit), io, exit);
  registerDevice(program, io, exit);
  registerWitness(program, io, exit);
  registerServe(program, io, exit);
  registerLogin(program, io, exit);
  markRequired(program);
  return program;
}

/**
 * Runs one `ota` invocation and resolves to its exit code. Every failure is
 * one `ota: ...` line on stderr, never a stack trace; commander prints its
 * own usage errors.
 */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (!(e instanceof CliError) && io.env.OTA_DEBUG === '1' && e instanceof Error) println(io.err, e.stack ?? '');
    println(io.err, `ota: ${describeError(e)}`);
    return 1;
  }
}

/**
 * `ota … | head`: once the reader has gone, what is left to print has
 * nowhere to go. Stop quietly, as Unix tools do, instead of dying on an
 * unhandled EPIPE with a stack trace (issue 18). Any other write error is
 * still an error.
 */
function stopQuietlyWhenTheReaderLeaves(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  stopQuietlyWhenTheReaderLeaves(process.stdout);
  process.exitCode = await run(argv);
}

const invokedDirectly = (): boolean => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (invokedDirectly()) await main();
