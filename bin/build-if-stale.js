#!/usr/bin/env node
// `npm start` builds only when it must: when dist/ is missing or any source
// (server/, bench/, manifests/, the tsconfigs, package.json) is newer than
// the last build's dist/server/main.js, which every tsc run rewrites. Build
// output goes to stderr: stdout is the server's JSON log. An
// already built tree restarts in a second or two (README, Quick start)
// instead of after a full tsc.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['server', 'bench', 'manifests', 'tsconfig.json', 'tsconfig.build.json', 'vite.config.ts', 'package.json'];
const BUILT = join(root, 'dist', 'server', 'main.js');

/** Newest modification time under `path` (a file or a folder, walked). */
function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)));
  return max;
}

const built = statSync(BUILT, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const sources = Math.max(...SOURCES.map((p) => newest(join(root, p))));
if (built > sources && process.env.OTA_FORCE_BUILD !== '1') {
  process.exit(0);
}
console.error(built ? 'sources changed since the last build: building (tsc, then the dashboard)…' : 'first start: building (tsc, then the dashboard)…');
// The same two steps as `npm run build`: the server, then the dashboard (server/dashboard/web → dist/ui).
const steps = [[join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']];
if (existsSync(join(root, 'vite.config.ts'))) steps.push([join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn']);
for (const args of steps) {
  const step = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (step.status !== 0) process.exit(step.status ?? 1);
}
