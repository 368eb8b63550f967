import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { readJsonFile } from '../files/json-file.js';
import { CliError, describeError, println, type CliIo } from './io.js';

interface ServerOptions {
  server: string;
  token?: string;
}

interface ErrorBody {
  error: { code: string; message: string; details?: { path?: string; code?: string; message: string }[] };
}

const isErrorBody = (v: unknown): v is ErrorBody =>
  typeof (v as ErrorBody | null)?.error?.code === 'string' && typeof (v as ErrorBody).error.message === 'string';

function endpoint(server: string, path: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:8080, got "${server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http(s) URL, got "${server}"`);
  return `${url.href.replace(/\/+$/, '')}${path}`;
}

/** --token, else OTA_TOKEN; the token itself is never printed. */
function bearer(opts: ServerOptions, io: CliIo): string {
  const token = opts.token ?? io.env.OTA_TOKEN;
  if (!token) throw new CliError('no operator token: pass --token or set OTA_TOKEN');
  return `Bearer ${token}`;
}

/** Sends one request; prints the JSON answer, or `code: message` and each detail of a protocol §7 error body. */
async function call(url: string, init: RequestInit, io: CliIo): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? describeError(e)}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    if (!isErrorBody(body)) throw new CliError(`HTTP ${res.status} ${res.statusText} from ${url}`);
    println(io.err, `ota: ${body.error.code}: ${body.error.message}`);
    for (const d of body.error.details ?? []) {
      println(io.err, `  - ${[d.code, d.path].filter(Boolean).join(' ')}${d.code || d.path ? ': ' : ''}${d.message}`);
    }
    return 1;
  }
  println(io.err, `HTTP ${res.status} ${res.statusText}`);
  println(io.out, body === undefined ? text : JSON.stringify(body, null, 2));
  return 0;
}

/** `ota publish`: POST /v1/releases with the envelope as it is in the file. */
export async function publish(file: string, opts: ServerOptions, io: CliIo): Promise<number> {
  let envelope: unknown;
  try {
    envelope = readJsonFile(file);
  } catch (e) {
    throw new CliError(describeError(e));
  }
  const authorization = bearer(opts, io);
  return call(endpoint(opts.server, '/v1/releases'), {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    body: JSON.stringify(envelope),
  }, io);
}

/** `ota artifact upload`: PUT /v1/artifacts, streaming the file (never read whole into memory). */
export async function uploadArtifact(file: string, opts: ServerOptions, io: CliIo): Promise<number> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CliError(`${file} is not a file`);
    size = st.size;
  } catch (e) {
    throw new CliError(e instanceof CliError ? e.message : `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`);
  }
  const authorization = bearer(opts, io);
  const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
  return call(endpoint(opts.server, '/v1/artifacts'), {
    method: 'PUT',
    headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    body,
    duplex: 'half',
  } as RequestInit, io);
}

const serverOptions = (cmd: Command): Command =>
  cmd.requiredOption('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080').option('--token <token>', 'operator token (default: $OTA_TOKEN)');

export function registerHttp(program: Command, io: CliIo, exit: (code: number) => void): void {
  serverOptions(program.command('publish').description('publish a signed release (POST /v1/releases)').argument('<file>', 'release envelope'))
    .action(async (file: string, opts: ServerOptions) => exit(await publish(file, opts, io)));
  const artifact = program.command('artifact').description('artifacts');
  serverOptions(artifact.command('upload').description('upload an artifact (PUT /v1/artifacts); prints {sha256, size}').argument('<file>', 'artifact file'))
    .action(async (file: string, opts: ServerOptions) => exit(await uploadArtifact(file, opts, io)));
}
