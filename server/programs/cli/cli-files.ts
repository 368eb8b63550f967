import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isTooOpen, readKeyFile } from '../../protocol/crypto/key-files.js';
import { keyIdOf, type PrivateKey, type PublicKey } from '../../protocol/crypto/keys.js';
import { readJsonFile } from '../../files/json-file.js';
import { CliError, describeError, println, type CliIo } from './io.js';

export interface LoadedKey {
  path: string;
  keyid: string;
  public: PublicKey;
  private?: PrivateKey;
}

/** Reads a public or private key file written to protocol §1 by any tool; errors name the file. */
export function loadKey(path: string, io: CliIo): LoadedKey {
  let key: ReturnType<typeof readKeyFile>;
  try {
    key = readKeyFile(path);
  } catch (e) {
    const why = describeError(e);
    throw new CliError(why.includes(path) ? why : `${path}: ${why}`);
  }
  if (key.private && isTooOpen(path)) println(io.err, `ota: warning: ${path} holds a private key but others can read it (chmod 600 ${path})`);
  return { path, keyid: keyIdOf(key.public), ...key };
}

export function loadPrivateKey(path: string, io: CliIo, purpose: string): LoadedKey & { private: PrivateKey } {
  const key = loadKey(path, io);
  if (!key.private) throw new CliError(`${path} is a public key; ${purpose} needs a private key file`);
  return key as LoadedKey & { private: PrivateKey };
}

/** Reads a JSON file and parses it with a domain parser; any failure becomes one line naming the file. */
export function parseFile<T>(path: string, parse: (value: unknown) => T): T {
  let value: unknown;
  try {
    value = readJsonFile(path);
  } catch (e) {
    throw new CliError(describeError(e));
  }
  try {
    return parse(value);
  } catch (e) {
    throw new CliError(`${path}: ${describeError(e)}`);
  }
}

export const jsonText = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Replaces a file atomically (temp file + rename): a reader sees the old or the new content, never half. */
export function replaceFile(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Refuses up front when any of `paths` exists, so a command writes all of its files or none. */
export function refuseExisting(paths: string[], hint: string): void {
  const found = paths.filter((p) => existsSync(p));
  if (found.length) throw new CliError(`${found.join(', ')} already exist${found.length === 1 ? 's' : ''}; ${hint}`);
}
