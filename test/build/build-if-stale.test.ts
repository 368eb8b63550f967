import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A one-file project laid out like this one, with bin/build-if-stale.js and the real TypeScript. */
function tinyProject(): string {
  const dir = tempDir('ota-build-');
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'server'));
  copyFileSync(join(repoRoot, 'bin/build-if-stale.js'), join(dir, 'bin/build-if-stale.js'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', outDir: 'dist', rootDir: '.', types: [] }, include: ['server'] }));
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json' }));
  writeFileSync(join(dir, 'server/main.ts'), 'export const answer: number = 42;\n');
  return dir;
}

const run = (dir: string) => {
  const started = Date.now();
  const stderr = execFileSync(process.execPath, ['bin/build-if-stale.js'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ms: Date.now() - started, said: stderr };
};

describe('npm start builds only when sources changed (issue 9)', () => {
  it('builds a fresh tree, skips a built one, rebuilds after an edit', () => {
    const dir = tinyProject();
    const main = join(dir, 'dist/server/main.js');
    run(dir);
    const first = statSync(main).mtimeMs;
    // Make the build clearly newer than the sources, then start again: nothing to do.
    utimesSync(join(dir, 'server/main.ts'), new Date(first - 10_000), new Date(first - 10_000));
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'server']) utimesSync(join(dir, f), new Date(first - 10_000), new Date(first - 10_000));
    run(dir);
    expect(statSync(main).mtimeMs).toBe(first);
    // An edited source is newer than the build: it is rebuilt.
    writeFileSync(join(dir, 'server/main.ts'), 'export const answer: number = 43;\n');
    utimesSync(join(dir, 'server/main.ts'), new Date(first + 10_000), new Date(first + 10_000));
    run(dir);
    expect(statSync(main).mtimeMs).toBeGreaterThan(first);
  }, 60_000);
});
