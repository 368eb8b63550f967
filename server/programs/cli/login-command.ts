import type { Command } from 'commander';
import type * as Api from '../../openapi/api-types.generated.js';
import { apiRequest, endpoint, printJson, serverOptions, serverUrl, type ServerOptions } from './http-client.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { profilePath, removeProfile, writeProfile, type Profile } from './profile.js';

/** Whose token it is, in words: `operator "alice" (role release-manager, token #7)`. */
function principal(who: Api.Whoami): string {
  return who.kind === 'operator' ? `operator "${who.name}" (role ${who.role}, token #${who.tokenId})` : `device ${who.deviceId} (a device token)`;
}

/** GET /v1/whoami with this token: the principal, or undefined once the server's refusal is printed. */
async function whoIs(opts: ServerOptions, io: CliIo): Promise<Api.Whoami | undefined> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: '/v1/whoami' });
  return reply?.body as Api.Whoami | undefined;
}

/**
 * `ota login --server URL [--token T]`: the server (and token) once, in a
 * 0600 profile under the user's config folder; every command then reads
 * flag > environment (OTA_SERVER, OTA_TOKEN) > profile. The server must
 * answer /healthz, so a typo is caught now rather than on every command,
 * and a token must be one the server takes (GET /v1/whoami): a refused
 * one never replaces a profile that works (issue 18).
 */
export async function login(opts: { server: string; token?: string }, io: CliIo): Promise<number> {
  const base = serverUrl(opts.server).href.replace(/\/+$/, '');
  let health: { rootVersion?: unknown };
  try {
    const res = await fetch(endpoint(base, '/healthz'), { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    health = (await res.json()) as { rootVersion?: unknown };
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${base}/healthz (${cause?.code ?? cause?.message ?? describeError(e)}): nothing saved`);
  }
  const who = opts.token !== undefined ? await whoIs({ server: base, token: opts.token }, io) : undefined;
  if (opts.token !== undefined && !who) {
    const path = profilePath(io.env);
    println(io.err, `ota: ${base} refused the token: nothing saved${path ? ` (${path} is unchanged)` : ''}`);
    return 1;
  }
  const profile: Profile = { server: base, ...(opts.token !== undefined ? { token: opts.token } : {}) };
  const path = writeProfile(io.env, profile);
  println(io.err, `logged in to ${base} (trust root v${String(health.rootVersion)})${who ? ` as ${principal(who)}` : ''}; saved in ${path} (0600)`);
  return 0;
}

/** `ota whoami`: whose token the commands use (flag > environment > profile), as the server sees it. */
export async function whoami(opts: ServerOptions & { json?: boolean }, io: CliIo): Promise<number> {
  const reply = await apiRequest(opts, io, { method: 'GET', path: '/v1/whoami' });
  if (!reply) return 1;
  if (opts.json) printJson(reply, io);
  else println(io.out, principal(reply.body as Api.Whoami));
  return 0;
}

export function logout(io: CliIo): number {
  const path = removeProfile(io.env);
  println(io.err, path ? `removed ${path}` : 'no saved profile');
  return 0;
}

export function registerLogin(program: Command, io: CliIo, exit: (code: number) => void): void {
  program
    .command('login')
    .description('remember a server (and an operator token) for every command: flag > $OTA_SERVER/$OTA_TOKEN > this profile')
    .requiredOption('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'operator token to remember, once the server takes it (kept 0600 in $XDG_CONFIG_HOME/ota or ~/.config/ota)')
    .action(async (opts: { server: string; token?: string }) => exit(await login(opts, io)));
  serverOptions(program.command('whoami').description('whose token the commands use: role, name and token id (GET /v1/whoami)'))
    .option('--json', 'print the server JSON as it is (for scripts)')
    .action(async (opts: ServerOptions & { json?: boolean }) => exit(await whoami(opts, io)));
  program
    .command('logout')
    .description('forget the saved server and token')
    .action(() => exit(logout(io)));
}
