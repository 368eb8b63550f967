import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { startServer, type Running } from '../../server/serve.js';
import { makeTrust, tempDir } from '../helpers/fixtures.js';

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const from = README.indexOf("The checkpoint's signature needs nothing but OpenSSL");
const recipe = /```sh\n([\s\S]*?)```/.exec(README.slice(from))?.[1] ?? '';
const tools = ['openssl', 'jq', 'curl', 'xxd', 'bash'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('README: a checkpoint checked with OpenSSL alone', () => {
  it.skipIf(!tools)('the recipe verifies the served checkpoint', async () => {
    expect(recipe).toContain('openssl pkeyutl -verify');
    running = await startServer(loadConfig({}, { dataDir: tempDir(), trustDir: makeTrust().dir, port: 0, logLevel: 'silent', demo: false }), () => undefined);
    // Asynchronously: the server answering curl runs in this very process.
    const run = await new Promise<{ code: number; out: string }>((done) => {
      execFile('bash', ['-eo', 'pipefail', '-c', recipe], { cwd: tempDir(), env: { ...process.env, SERVER: (running as Running).url } }, (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
    });
    expect(run.out).toContain('Signature Verified Successfully');
    expect(run.code).toBe(0);
  }, 30_000);
});
