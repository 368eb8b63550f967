import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../server/programs/cli/ota.js';

const README = readFileSync(join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'README.md'), 'utf8');

/** Every command and subcommand: `rollout`, `rollout halt`, `audit`, `audit log`, … */
function commandPaths(cmd: Command, parents: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => {
    const path = [...parents, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

/**
 * The README says how each `ota` command is used, where the others are
 * (issue 18: `ota device list|show` and `ota audit log` were missing). A
 * command may be one of an alternation: `ota rollout start|pause|halt …`.
 */
describe('the README shows every ota command', () => {
  it('names each command of the CLI at least once as `ota <command>`', () => {
    const program = buildProgram({ out: () => undefined, err: () => undefined, env: {}, now: () => new Date() }, () => undefined);
    const paths = commandPaths(program);
    expect(paths).toContainEqual(['whoami']);
    const missing = paths.filter((p) => {
      const last = p[p.length - 1] as string;
      const head = p.slice(0, -1).map((w) => `${w} `).join('');
      return !new RegExp(`\\bota ${head}(?:[\\w-]+\\|)*${last}(?![\\w-])`).test(README);
    });
    expect(missing.map((p) => `ota ${p.join(' ')}`)).toEqual([]);
  });
});
