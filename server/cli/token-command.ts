import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createOperatorTokenStore } from '../auth/operator-token-store.js';
import { isOperatorRole, OPERATOR_ROLES } from '../auth/principal.js';
import { openDatabase } from '../db/open.js';
import { toTimestamp } from '../trust/time.js';
import { CliError, println, type CliIo } from './io.js';

/**
 * `ota token create`: an operator token (protocol §7) in DIR/ota.db, stored
 * hashed. The token goes to stdout alone, once, so it can be captured; what
 * it is goes to stderr.
 */
export function createToken(role: string, dataDir: string, name: string | undefined, io: CliIo): void {
  if (!isOperatorRole(role)) throw new CliError(`--role must be one of ${OPERATOR_ROLES.join(', ')}, got "${role}"`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(dataDir, 'ota.db'));
  try {
    const label = name ?? `cli-${role}`;
    const { id, token } = createOperatorTokenStore(db).create(role, label, toTimestamp(io.now()));
    println(io.err, `operator token #${id} "${label}" with role ${role} (shown once, stored hashed in ${join(dataDir, 'ota.db')}):`);
    println(io.out, token);
  } finally {
    db.close();
  }
}

export function registerToken(program: Command, io: CliIo): void {
  const token = program.command('token').description('operator tokens');
  token
    .command('create')
    .description('create an operator token and print it once')
    .requiredOption('--role <role>', `one of ${OPERATOR_ROLES.join(', ')}`)
    .requiredOption('--data <dir>', 'data folder holding ota.db')
    .option('--name <name>', 'who or what the token is for (default: cli-<role>)')
    .action((opts: { role: string; data: string; name?: string }) => createToken(opts.role, opts.data, opts.name, io));
}
