import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VECTORS } from './helpers/vectors.js';

/**
 * The repository carries the contract (docs/protocol.md) and the test vectors
 * (test/vectors) so that a bare clone is self-contained. Where the reference
 * `../shared` exists beside the clone (a workspace, CI), the copies must equal
 * it byte for byte; a bare clone has nothing to compare against.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(repoRoot, '..', 'shared');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe.runIf(existsSync(join(shared, 'spec', 'protocol.md')))('copies of ../shared', () => {
  it('docs/protocol.md equals shared/spec/protocol.md', () => {
    expect(readFileSync(join(repoRoot, 'docs', 'protocol.md'), 'utf8')).toBe(readFileSync(join(shared, 'spec', 'protocol.md'), 'utf8'));
  });

  it('test/vectors holds every shared/testdata file, unchanged', () => {
    const reference = join(shared, 'testdata');
    for (const file of filesUnder(reference)) {
      const rel = relative(reference, file);
      expect(existsSync(join(VECTORS, rel)), `test/vectors/${rel} missing`).toBe(true);
      expect(readFileSync(join(VECTORS, rel)).equals(readFileSync(file)), `test/vectors/${rel} differs`).toBe(true);
    }
  });
});

describe('self-contained repository', () => {
  it('README links only paths inside the repository', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/\.\.\/shared/);
  });
});
