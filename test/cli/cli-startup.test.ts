import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { expectDistBuilt } from '../helpers/server-process.js';

const bin = fileURLToPath(new URL('../../bin/ota.js', import.meta.url));

/**
 * The modules `node bin/ota.js ARGS` loaded, as the module resolver saw
 * them: a hook registered with --import records every resolved URL.
 */
function modulesLoadedBy(args: string[]): { status: number | null; loaded: string[] } {
  const dir = tempDir('ota-startup-');
  const log = join(dir, 'modules.txt');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { status: run.status, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/** What made every `ota` call take ~2 s (issue 18): the server, the database drivers, the JSON Schema compiler, signing. */
const HEAVY = [/\/dist\/server\/serve\.js$/, /\/dist\/server\/db\/connect\.js$/, /\/dist\/server\/schema\/validator\.js$/, /\/node_modules\/(ajv|express|pg|better-sqlite3|pino|tweetnacl)\//];

describe('ota starts without the modules a command does not use', () => {
  it('--help, a command\'s --help and an HTTP command load no server, database, schema or signing module', () => {
    expectDistBuilt();
    for (const args of [['--help'], ['rollout', 'status', '--help'], ['keygen', '--help'], ['cohort', 'list', '--server', 'http://127.0.0.1:9', '--token', 'x', '--json']]) {
      const { status, loaded } = modulesLoadedBy(args);
      // `cohort list` against nothing listening exits 1 after its one line, having loaded what it needs.
      expect(status, args.join(' ')).toBe(args[0] === 'cohort' ? 1 : 0);
      expect(loaded.length, args.join(' ')).toBeGreaterThan(5);
      expect(loaded.filter((url) => HEAVY.some((re) => re.test(url))), args.join(' ')).toEqual([]);
    }
  });

  it('a command that needs them still loads them (keygen signs with tweetnacl)', () => {
    expectDistBuilt();
    const out = tempDir('ota-keys-');
    const { status, loaded } = modulesLoadedBy(['keygen', '--role', 'root', '--out', out]);
    expect(status).toBe(0);
    expect(loaded.some((url) => /\/node_modules\/tweetnacl\//.test(url))).toBe(true);
  });
});
