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

const hasShared = existsSync(join(shared, 'spec', 'protocol.md'));

describe('the contract and vectors travel with the repository', () => {
  it(`docs/protocol.md is the contract, all twelve sections${hasShared ? ', equal to shared/spec/protocol.md' : ''}`, () => {
    const copy = readFileSync(join(repoRoot, 'docs', 'protocol.md'), 'utf8');
    expect(copy.match(/^## \d+\. /gm)).toHaveLength(12);
    // Beside the reference (a workspace, CI) the copy must be byte for byte the same; a bare clone has only its copy.
    if (hasShared) expect(copy).toBe(readFileSync(join(shared, 'spec', 'protocol.md'), 'utf8'));
  });

  it(`test/vectors holds every vector file${hasShared ? ', each equal to shared/testdata' : ''}`, () => {
    const reference = hasShared ? join(shared, 'testdata') : VECTORS;
    const files = filesUnder(reference).map((f) => relative(reference, f));
    expect(files).toEqual(expect.arrayContaining(['bucket-vectors.json', 'ed25519/rfc8032-7.1.json']));
    expect(files.filter((f) => f.startsWith('jcs/input/')).length).toBeGreaterThan(0);
    for (const rel of files) {
      expect(existsSync(join(VECTORS, rel)), `test/vectors/${rel} missing`).toBe(true);
      if (hasShared) expect(readFileSync(join(VECTORS, rel)).equals(readFileSync(join(reference, rel))), `test/vectors/${rel} differs`).toBe(true);
    }
  });
});

describe('self-contained repository', () => {
  it('README links only paths inside the repository', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/\.\.\/shared/);
  });
});
