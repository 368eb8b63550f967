import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PORTABLE_PACKAGES = new Set(['tweetnacl', '@noble/hashes/sha2.js', 'canonicalize', 'semver', 'ajv/dist/2020.js', 'ajv-formats', 'lru-cache']);
const IMPORT_RE = /^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm;

/** Every file reachable from `entry` through imports (type-only imports included), and every package imported. */
function closure(entry: string): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) {
        if (!spec.endsWith('.json')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      } else packages.add(spec);
    }
  };
  visit(join(ROOT, entry));
  return { files: [...files].map((f) => f.slice(ROOT.length + 1)).sort(), packages };
}

describe('the agent core runs without Node (React Native, browsers)', () => {
  it('server/programs/agent/index.ts reaches no node:* module, Buffer or process', () => {
    const { files, packages } = closure('server/programs/agent/index.ts');
    expect(files).toContain('server/programs/agent/verify-offer.ts');
    expect(files.filter((f) => /downloader|file-state-store|node-agent/.test(f))).toEqual([]);
    expect([...packages].filter((p) => !PORTABLE_PACKAGES.has(p))).toEqual([]);
    for (const f of files) {
      const code = readFileSync(join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, f).not.toMatch(/\bBuffer\b|\bprocess\.|\brequire\(/);
    }
  });
});
