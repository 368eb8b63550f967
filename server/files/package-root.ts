import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder, from this module's place: server/files/ in the
 * sources, dist/server/files/ when built. The nearest package.json that is
 * not inside dist/ (a build may hold a copy of it) marks the root.
 */
export function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (basename(dir) !== 'dist' && existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error('package.json not found above server/files');
}

/** This package's version, from its package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
