import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { readJsonFile } from '../../files/json-file.js';
import { apiRequest, printJson, serverOptions, type ServerOptions } from './http-client.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { registerArtifactList } from './release-commands.js';
import { signatureFix, unsignedDiagnosis } from './sign-hint.js';

/** `ota publish`: POST /v1/releases with the envelope as it is in the file. */
export async function publish(file: string, opts: ServerOptions, io: CliIo): Promise<number> {
  let envelope: unknown;
  try {
    envelope = readJsonFile(file);
  } catch (e) {
    throw new CliError(describeError(e));
  }
  // Nothing unsigned goes out: one line saying so and what to run, not a page of schema errors.
  const unsigned = unsignedDiagnosis(envelope, file);
  if (unsigned) throw new CliError(unsigned);
  const reply = await apiRequest(opts, io, {
    method: 'POST',
    path: '/v1/releases',
    json: envelope,
    hint: (code) => (code === 'signature_invalid' || code === 'threshold_not_met' ? signatureFix(file) : undefined),
  });
  if (!reply) return 1;
  println(io.err, `HTTP ${reply.status} ${reply.statusText}`);
  printJson(reply, io);
  return 0;
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
  const reply = await apiRequest(opts, io, {
    method: 'PUT',
    path: '/v1/artifacts',
    body: () => Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
  });
  if (!reply) return 1;
  println(io.err, `HTTP ${reply.status} ${reply.statusText}`);
  printJson(reply, io);
  return 0;
}

export function registerHttp(program: Command, io: CliIo, exit: (code: number) => void): void {
  serverOptions(program.command('publish').description('publish a signed release (POST /v1/releases)').argument('<file>', 'release envelope'))
    .action(async (file: string, opts: ServerOptions) => exit(await publish(file, opts, io)));
  const artifact = program.command('artifact').description('artifacts');
  serverOptions(artifact.command('upload').description('upload an artifact (PUT /v1/artifacts); prints {sha256, size}').argument('<file>', 'artifact file'))
    .action(async (file: string, opts: ServerOptions) => exit(await uploadArtifact(file, opts, io)));
  registerArtifactList(artifact, io, exit);
}
