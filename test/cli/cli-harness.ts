import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../server/programs/cli/io.js';
import { run } from '../../server/programs/cli/ota.js';

/** The instant every CLI test runs at (roots made by `trust init` expire a year later). */
export const NOW = new Date('2026-11-24T12:00:00Z');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `ota ...argv` in-process with captured stdout/stderr. */
export async function ota(argv: string[], opts: { env?: Record<string, string>; now?: Date; stop?: AbortSignal; onOut?: (text: string) => void; onErr?: (text: string) => void } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
      opts.onOut?.(t);
    },
    err: (t) => {
      err += t;
      opts.onErr?.(t);
    },
    env: opts.env ?? {},
    now: () => opts.now ?? NOW,
    ...(opts.stop ? { stop: opts.stop } : {}),
  };
  const code = await run(argv, io);
  return { code, out, err };
}

/** `ota keygen` and the paths it printed. */
export async function keygen(role: string, dir: string): Promise<{ keyid: string; priv: string; pub: string }> {
  const r = await ota(['keygen', '--role', role, '--out', dir]);
  if (r.code !== 0) throw new Error(r.err);
  const field = (name: string) => (new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(r.out) as RegExpExecArray)[1] as string;
  return { keyid: field('keyid'), priv: field('private key'), pub: field('public key') };
}

export const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
export const writeJsonFile = (path: string, value: unknown): void => writeFileSync(path, JSON.stringify(value, null, 2));
export const modeOf = (path: string): number => statSync(path).mode & 0o777;

/** Every file under `dir` with its content, to prove a refused command wrote nothing. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files[p] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return files;
}

export interface CliTrust {
  base: string;
  dir: string;
  rootKeys: Awaited<ReturnType<typeof keygen>>[];
  releaseKeys: Awaited<ReturnType<typeof keygen>>[];
}

/** keygen + `ota trust init` with every root key private (so it can sign). */
export async function initTrust(base: string, opts: { rootKeys?: number; rootThreshold?: number; releaseKeys?: number; releaseThreshold?: number } = {}): Promise<CliTrust> {
  const rootKeys = [];
  for (let i = 0; i < (opts.rootKeys ?? 1); i++) rootKeys.push(await keygen('root', join(base, 'keys')));
  const releaseKeys = [];
  for (let i = 0; i < (opts.releaseKeys ?? 1); i++) releaseKeys.push(await keygen('release', join(base, 'keys')));
  const dir = join(base, 'trust');
  const r = await ota(['trust', 'init', '--out', dir, '--root-key', ...rootKeys.map((k) => k.priv), '--root-threshold', String(opts.rootThreshold ?? 1),
    '--release-key', ...releaseKeys.map((k) => k.pub), '--release-threshold', String(opts.releaseThreshold ?? 1)]);
  if (r.code !== 0) throw new Error(r.err);
  return { base, dir, rootKeys, releaseKeys };
}
