import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The test vectors (RFC 8785, RFC 8032, protocol §5 buckets) travel with the
 * repository in `test/vectors/` (test/vectors/README.md names their sources),
 * so a bare clone tests itself. `test/contract-copy.test.ts` checks that they
 * still equal the reference copies in `../shared` whenever that folder exists.
 */
export const VECTORS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

export const readVector = (...parts: string[]): Buffer => readFileSync(join(VECTORS, ...parts));

export const listVectors = (...parts: string[]): string[] => readdirSync(join(VECTORS, ...parts)).sort();
