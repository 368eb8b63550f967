import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared test vectors live in `shared/testdata` beside the repository
 * (`../shared` from the repo root, in a workspace and in a fresh CI clone).
 * OTA_SHARED_TESTDATA overrides; otherwise the nearest `shared/testdata` up
 * from this file is used. A missing folder fails loudly: vectors are never
 * skipped silently.
 */
function locate(): string {
  const override = process.env.OTA_SHARED_TESTDATA;
  if (override) return resolve(override);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'testdata');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('shared/testdata not found beside the repository (set OTA_SHARED_TESTDATA)');
}

export const SHARED_TESTDATA = locate();

export const readShared = (...parts: string[]): Buffer => readFileSync(join(SHARED_TESTDATA, ...parts));

export const listShared = (...parts: string[]): string[] => readdirSync(join(SHARED_TESTDATA, ...parts)).sort();
