import { existsSync, writeFileSync } from 'node:fs';
import { consistentWithKept, type KeptCheckpoint } from '../agent/verify-log.js';
import { readJsonFile } from '../../files/json-file.js';
import { getJson } from './log-fetch.js';
import { CliError } from './io.js';

/**
 * The checkpoint an outside party (an auditor, a witness) keeps between
 * runs, and the one rule it applies to the next: the log only ever grows,
 * proven by a consistency proof (protocol §8, RFC 9162 §2.1.4).
 */
export function readKept(file: string): KeptCheckpoint | undefined {
  if (!existsSync(file)) return undefined;
  const raw = readJsonFile(file) as Partial<KeptCheckpoint> | null;
  if (!raw || typeof raw.origin !== 'string' || !Number.isSafeInteger(raw.size) || typeof raw.rootHash !== 'string' || !/^[0-9a-f]{64}$/.test(raw.rootHash)) {
    throw new CliError(`${file} is not a checkpoint kept by ota audit or ota witness`);
  }
  return raw as KeptCheckpoint;
}

/** Keeps `cp` in `file` (replaced whole). */
export function keep(file: string, cp: KeptCheckpoint): void {
  writeFileSync(file, `${JSON.stringify(cp, null, 2)}\n`);
}

/** Why `next` does not extend `kept` (undefined: it does), fetching the consistency proof it needs. */
export async function keptReason(server: string, kept: KeptCheckpoint, next: KeptCheckpoint): Promise<string | undefined> {
  const was = `the checkpoint kept last time (size ${kept.size})`;
  if (next.origin !== kept.origin) return `the log is now ${next.origin}, ${was} was of ${kept.origin}`;
  if (next.size < kept.size) return `the log shrank: size ${next.size} after ${was}`;
  if (next.size === kept.size) return next.rootHash === kept.rootHash ? undefined : `forked log: size ${next.size} with another root than ${was}`;
  const body = (await getJson(server, `/v1/log/proof/consistency?from=${kept.size}&to=${next.size}`)) as { hashes?: unknown };
  return consistentWithKept(kept, next, body.hashes) ? undefined : `the log of size ${next.size} is not consistent with ${was}: history was rewritten`;
}

