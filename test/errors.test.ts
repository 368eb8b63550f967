import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, errorStatus, type ErrorCode } from '../server/errors.js';

/**
 * Every error code in server/errors.ts is documented in README.md's "Error
 * codes" section with the same HTTP status, and the docs name no code
 * the server does not have. Rows look like: | `code` | 400 | meaning |
 */
const DOC = new URL('../README.md', import.meta.url);
const ROW_RE = /^\| `([a-z_]+)` \| (\d{3}) \| (.*\S) \|\s*$/;

function documented(): Map<string, { status: number; meaning: string }> {
  const rows = new Map<string, { status: number; meaning: string }>();
  const readme = readFileSync(DOC, 'utf8');
  const start = readme.indexOf('\n## Error codes');
  if (start < 0) throw new Error('README.md has no "## Error codes" section');
  const end = readme.indexOf('\n## ', start + 1);
  for (const line of readme.slice(start, end < 0 ? undefined : end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const m = ROW_RE.exec(line);
    if (!m) throw new Error(`malformed error-code row: ${line}`);
    const [, code, status, meaning] = m as unknown as [string, string, string, string];
    if (rows.has(code)) throw new Error(`error code ${code} documented twice`);
    rows.set(code, { status: Number(status), meaning });
  }
  return rows;
}

describe('error codes: server/errors.ts ⇔ README.md', () => {
  const docs = documented();
  const codes = Object.keys(errorStatus) as ErrorCode[];

  it('the table is not empty', () => {
    expect(docs.size).toBeGreaterThan(0);
  });

  it.each(codes)('%s is documented with its HTTP status', (code) => {
    expect(docs.get(code)?.status).toBe(errorStatus[code]);
  });

  it('documents no code the server does not have', () => {
    expect([...docs.keys()].filter((c) => !Object.hasOwn(errorStatus, c))).toEqual([]);
  });

  it('every status is an HTTP error status', () => {
    for (const code of codes) expect(errorStatus[code]).toBeGreaterThanOrEqual(400);
  });
});

describe('AppError', () => {
  it('carries its status and writes the protocol §7 body, details only when present', () => {
    const plain = new AppError('not_found', 'no release x');
    expect(plain.status).toBe(404);
    expect(plain.toBody()).toEqual({ error: { code: 'not_found', message: 'no release x' } });
    const detailed = new AppError('policy_violation', 'refused', { details: [{ path: 'cloud.messaging.enabled', message: 'P2: ...' }], cause: new Error('x') });
    expect(detailed.toBody().error.details).toHaveLength(1);
    expect(detailed.cause).toBeInstanceOf(Error);
    expect(new AppError('bad_request', 'x', { details: [] }).toBody()).toEqual({ error: { code: 'bad_request', message: 'x' } });
  });
});
