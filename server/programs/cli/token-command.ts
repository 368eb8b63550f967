import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createOperatorTokenStore, type TokenInfo } from '../../auth/operator-token-store.js';
import { isOperatorRole, OPERATOR_ROLES } from '../../auth/principal.js';
import { databaseUrlOf, DatabaseUrlError } from '../../db/database-url.js';
import type { Sql } from '../../db/sql.js';
import { toTimestamp } from '../../protocol/trust/time.js';
import { apiRequest, fetchAll, serverOptions, type ServerOptions } from './http-client.js';
import { CliError, println, type CliIo } from './io.js';
import { resolveServer } from './profile.js';
import { table } from './text-table.js';

interface TokenOptions extends ServerOptions {
  /** The local form: work on DIR/ota.db directly instead of a server. */
  data?: string;
  json?: boolean;
}

/**
 * The local form works on the state directly: on PostgreSQL when
 * OTA_DATABASE_URL is set, as the server does (protocol §9), otherwise on
 * DIR/ota.db, which must exist: a mistyped --data must not quietly create
 * a new, empty one (issue 9).
 */
async function withLocalDb<T>(dataDir: string, io: CliIo, work: (sql: Sql, file: string) => Promise<T>): Promise<T> {
  const file = join(dataDir, 'ota.db');
  const url = databaseUrlOf(io.env);
  if (url === undefined && !existsSync(file)) {
    // A PostgreSQL deployment has no ota.db: say how to reach it, not only that the file is missing (issue 18).
    throw new CliError(`no database in ${dataDir} (${file} is missing): check --data; a server creates it on its first start (npm start, or ota serve --data ${dataDir}); `
      + 'on a PostgreSQL deployment, set OTA_DATABASE_URL to the database URL the server uses');
  }
  let sql: Sql;
  try {
    // Loaded on use: the database drivers are heavy, and only this local form needs them.
    const { connectDatabase } = await import('../../db/connect.js');
    sql = await connectDatabase({ url, file });
  } catch (e) {
    if (e instanceof DatabaseUrlError) throw new CliError(e.message);
    throw e;
  }
  try {
    return await work(sql, url === undefined ? file : 'PostgreSQL (OTA_DATABASE_URL)');
  } finally {
    await sql.close();
  }
}

const isLocal = (opts: TokenOptions): opts is TokenOptions & { data: string } => opts.data !== undefined;

/** The token goes to stdout alone, once, so it can be captured; what it is goes to stderr. */
function printCreated(t: { id: number; role: string; name: string; token: string }, where: string, io: CliIo, json?: boolean): void {
  if (json) {
    println(io.out, JSON.stringify(t, null, 2));
    return;
  }
  println(io.err, `operator token #${t.id} "${t.name}" with role ${t.role} (shown once, stored hashed ${where}):`);
  println(io.out, t.token);
}

/** `ota token create`: POST /v1/tokens (admin), or with --data straight into an existing DIR/ota.db. */
export async function createToken(role: string, name: string | undefined, opts: TokenOptions, io: CliIo): Promise<number> {
  if (!isOperatorRole(role)) throw new CliError(`--role must be one of ${OPERATOR_ROLES.join(', ')}, got "${role}"`);
  const label = name ?? `cli-${role}`;
  if (isLocal(opts)) {
    return withLocalDb(opts.data, io, async (sql, file) => {
      const at = toTimestamp(io.now());
      const store = createOperatorTokenStore(sql);
      const created = await store.create(role, label, at);
      printCreated({ id: created.id, role, name: label, token: created.token }, `in ${file}`, io, opts.json);
      return 0;
    });
  }
  const reply = await apiRequest(opts, io, { method: 'POST', path: '/v1/tokens', json: { role, name: label } });
  if (!reply) return 1;
  printCreated(reply.body as { id: number; role: string; name: string; token: string }, 'on the server', io, opts.json);
  return 0;
}

const rows = (tokens: readonly TokenInfo[]) =>
  table(['ID', 'ROLE', 'NAME', 'CREATED', 'LAST USED', 'REVOKED'], tokens.map((t) => [t.id, t.role, t.name, t.createdAt, t.lastUsedAt, t.revokedAt]));

/** `ota token list`: every token's id, role, name, created, last used, revoked; never a secret. */
export async function listTokens(opts: TokenOptions, io: CliIo): Promise<number> {
  let tokens: TokenInfo[] | undefined;
  if (isLocal(opts)) tokens = await withLocalDb(opts.data, io, (sql) => createOperatorTokenStore(sql).page(0, Number.MAX_SAFE_INTEGER));
  else tokens = await fetchAll<TokenInfo>(opts, io, '/v1/tokens', 'tokens', 1000);
  if (!tokens) return 1;
  if (opts.json) println(io.out, JSON.stringify({ tokens, nextCursor: null }, null, 2));
  else if (!tokens.length) println(io.out, 'no tokens');
  else for (const line of rows(tokens)) println(io.out, line);
  return 0;
}

/** `ota token revoke ID`: DELETE /v1/tokens/{id}; the token is refused from its next request on. */
export async function revokeToken(rawId: string, opts: TokenOptions, io: CliIo): Promise<number> {
  if (!/^[1-9][0-9]{0,14}$/.test(rawId)) throw new CliError(`token id must be a positive integer (see ota token list), got "${rawId}"`);
  const id = Number(rawId);
  let info: TokenInfo | undefined;
  if (isLocal(opts)) {
    info = await withLocalDb(opts.data, io, (sql) => sql.transaction(async () => {
      const store = createOperatorTokenStore(sql);
      if (!(await store.get(id))) throw new CliError(`no token ${id} in ${opts.data}`);
      await store.revoke(id, toTimestamp(io.now()));
      return store.get(id);
    }));
  } else {
    const reply = await apiRequest(opts, io, { method: 'DELETE', path: `/v1/tokens/${id}` });
    if (!reply) return 1;
    info = reply.body as TokenInfo;
  }
  if (!info) return 1;
  if (opts.json) println(io.out, JSON.stringify(info, null, 2));
  else println(io.out, `token #${info.id} "${info.name}" (${info.role}) revoked at ${info.revokedAt ?? '?'}`);
  return 0;
}

/** --data DIR (local) or the server options: one or the other. */
const where = (cmd: Command): Command =>
  serverOptions(cmd)
    .option('--data <dir>', 'work on DIR/ota.db directly instead of a server (it must exist: a typo never creates a new database)')
    .option('--json', 'print JSON');

/** --data DIR or a server (flag, OTA_SERVER or ota login), not both, not neither. */
const exclusive = (opts: TokenOptions, io: CliIo): TokenOptions => {
  if (opts.data !== undefined && opts.server !== undefined) throw new CliError('give --data DIR (local database) or --server URL, not both');
  if (opts.data === undefined) {
    try {
      resolveServer(opts.server, io);
    } catch (e) {
      if (!(e instanceof CliError) || !e.message.startsWith('no server')) throw e;
      throw new CliError('no server: pass --server URL (or set OTA_SERVER, or ota login), or --data DIR to work on a data folder\'s database');
    }
  }
  return opts;
};

export function registerToken(program: Command, io: CliIo, exit: (code: number) => void): void {
  const token = program.command('token').description('operator tokens (admin): against a server, or --data DIR on its database');
  where(token.command('create').description('create an operator token and print it once (POST /v1/tokens)'))
    .requiredOption('--role <role>', `one of ${OPERATOR_ROLES.join(', ')}`)
    .option('--name <name>', 'who or what the token is for (default: cli-<role>)')
    .action(async (opts: TokenOptions & { role: string; name?: string }) => exit(await createToken(opts.role, opts.name, exclusive(opts, io), io)));
  where(token.command('list').description('list tokens: id, role, name, created, last used, revoked; never a secret (GET /v1/tokens)'))
    .action(async (opts: TokenOptions) => exit(await listTokens(exclusive(opts, io), io)));
  where(token.command('revoke').description('revoke a token at once (DELETE /v1/tokens/{id})').argument('<id>', 'token id (ota token list)'))
    .action(async (id: string, opts: TokenOptions) => exit(await revokeToken(id, exclusive(opts, io), io)));
}
