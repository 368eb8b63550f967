import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, type CliIo } from './io.js';

/** What `ota login` remembers: the server, and optionally an operator token. */
export interface Profile {
  server?: string;
  token?: string;
}

/** $XDG_CONFIG_HOME/ota/profile.json, else ~/.config/ota/profile.json; undefined without either variable. */
export function profilePath(env: CliIo['env']): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  return base ? join(base, 'ota', 'profile.json') : undefined;
}

/**
 * The profile, or {} when there is none. It may hold a token, so one that
 * others can read is refused rather than used.
 */
export function readProfile(env: CliIo['env']): Profile {
  const path = profilePath(env);
  if (!path || !existsSync(path)) return {};
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new CliError(`${path} is readable by others (mode ${mode.toString(8)}); it may hold a token: chmod 600 ${path}, or ota logout`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`${path} is not valid JSON (${(e as Error).message}): run ota login again, or ota logout`);
  }
  const p = v as Profile;
  if (typeof v !== 'object' || v === null || (p.server !== undefined && typeof p.server !== 'string') || (p.token !== undefined && typeof p.token !== 'string')) {
    throw new CliError(`${path} is not an ota profile ({ "server", "token"? }): run ota login again, or ota logout`);
  }
  return { ...(p.server !== undefined ? { server: p.server } : {}), ...(p.token !== undefined ? { token: p.token } : {}) };
}

/** Writes the profile 0600 in a 0700 folder (replacing any earlier one); returns its path. */
export function writeProfile(env: CliIo['env'], profile: Profile): string {
  const path = profilePath(env);
  if (!path) throw new CliError('cannot tell where your config folder is: set HOME or XDG_CONFIG_HOME');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode through writeFileSync
  return path;
}

/** Removes the profile; returns its path if there was one. */
export function removeProfile(env: CliIo['env']): string | undefined {
  const path = profilePath(env);
  if (!path || !existsSync(path)) return undefined;
  unlinkSync(path);
  return path;
}

/** The server: --server, else $OTA_SERVER, else the profile. */
export function resolveServer(flag: string | undefined, io: CliIo): string {
  const server = flag ?? (io.env.OTA_SERVER || undefined) ?? readProfile(io.env).server;
  if (!server) throw new CliError('no server: pass --server URL, set OTA_SERVER, or run ota login --server URL once');
  return server;
}

/** The operator token: --token, else $OTA_TOKEN, else the profile (never printed). */
export const resolveToken = (flag: string | undefined, io: CliIo): string | undefined =>
  flag ?? (io.env.OTA_TOKEN || undefined) ?? readProfile(io.env).token;
