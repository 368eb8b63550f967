import type { Command } from 'commander';
import { endpoint, serverUrl } from './http-client.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { removeProfile, writeProfile, type Profile } from './profile.js';

/**
 * `ota login --server URL [--token T]`: the server (and token) once, in a
 * 0600 profile under the user's config folder; every command then reads
 * flag > environment (OTA_SERVER, OTA_TOKEN) > profile. The server must
 * answer /healthz, so a typo is caught now rather than on every command.
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
  const profile: Profile = { server: base, ...(opts.token !== undefined ? { token: opts.token } : {}) };
  const path = writeProfile(io.env, profile);
  println(io.err, `logged in to ${base} (trust root v${String(health.rootVersion)})${opts.token !== undefined ? ' with a token' : ''}; saved in ${path} (0600)`);
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
    .option('--token <token>', 'operator token to remember (kept 0600 in $XDG_CONFIG_HOME/ota or ~/.config/ota)')
    .action(async (opts: { server: string; token?: string }) => exit(await login(opts, io)));
  program
    .command('logout')
    .description('forget the saved server and token')
    .action(() => exit(logout(io)));
}
