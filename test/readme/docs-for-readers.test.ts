import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../server/programs/cli/ota.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The text of one `## ` section of the README, heading included. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start, `README.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** First cells of a section's table rows (header and rule lines skipped). */
const firstCells = (text: string): string[] =>
  text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---')).slice(1).map((l) => (l.split('|')[1] as string).trim());

/** README.md and docs/*.md, but not docs/protocol.md: the contract is a copy kept byte for byte (test/contract-copy.test.ts). */
const readerDocs = (): [string, string][] => [
  ['README.md', README],
  ...readdirSync(join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md') && f !== 'protocol.md')
    .map((f): [string, string] => [`docs/${f}`, readFileSync(join(repoRoot, 'docs', f), 'utf8')]),
];

/** Issue 18: what a new user read and could not follow or found untrue. */
describe('the README and docs, for a reader without the issue tracker', () => {
  it.each(readerDocs())('%s cites no work-item numbers and no unnamed "other engineers"', (_name, text) => {
    expect(text.match(/\bissues? \d+|issue-\d+|\bother (busy )?engineers\b|\bhelpers'/gi) ?? []).toEqual([]);
  });

  it('"Who does what" names each kind of user once', () => {
    const who = firstCells(section('Who does what').split('\n### ')[0] as string);
    expect(who.length).toBeGreaterThan(3);
    expect(who).toEqual([...new Set(who)]);
  });

  it('says what `npm test` runs: the suite, while `npm run check` lints and typechecks', () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.test).not.toMatch(/lint|tsc|typecheck/);
    expect(scripts.check).toMatch(/lint/);
    const quick = section('Quick start');
    const testLine = quick.split('\n').find((l) => /npm test\s+#/.test(l)) as string;
    expect(testLine).toBeDefined();
    expect(testLine.replace(/^.*?#/, '')).not.toMatch(/(?<!no )lint|(?<!no )typ/);
    expect(quick).toMatch(/npm run check\s+# lint, typecheck/);
  });

  it('Configuration names each variable once and exactly the `ota serve` flags there are', () => {
    const config = section('Configuration');
    const variables = firstCells(config).flatMap((cell) => cell.match(/`[A-Z_]+`/g) ?? []);
    expect(variables.length).toBeGreaterThan(20);
    expect(variables).toEqual([...new Set(variables)]);
    const serve = buildProgram({ out: () => {}, err: () => {}, env: {}, now: () => new Date() }, () => {}).commands.find((c: Command) => c.name() === 'serve') as Command;
    const flags = serve.options.map((o) => o.long as string);
    const named = [...new Set(config.slice(0, config.indexOf('\n|')).match(/`(--[a-z-]+)/g)?.map((f) => f.slice(1)))];
    expect(named.sort()).toEqual([...flags].sort());
    expect(config).not.toMatch(/\(or `ota serve` flags\)/);
  });
});
