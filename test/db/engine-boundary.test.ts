import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 16: only server/db/ knows which engine runs. Stores speak one
 * dialect (Sql.dialect, Sql.lockUntilCommit); outside db/ only the cluster
 * infrastructure that is itself engine-specific reads `sql.engine` — the
 * node's change feed and leader election choose their in-process or
 * PostgreSQL form by it (server/db/sql.ts says why).
 */
const ENGINE_AWARE_OUTSIDE_DB = ['server/cluster/leadership.ts', 'server/cluster/node-change-feed.ts'];

const root = join(import.meta.dirname, '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'node_modules' || e.name === 'web' ? [] : sources(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

describe('engine boundary', () => {
  const files = sources(join(root, 'server')).map((f) => relative(root, f).split('\\').join('/'));

  it('no file outside server/db/ branches on the engine, except the engine-specific cluster infrastructure', () => {
    const branching = files.filter((f) => !f.startsWith('server/db/') && /\.engine\b|\bengine\s*===/.test(readFileSync(join(root, f), 'utf8')));
    expect(branching.sort()).toEqual(ENGINE_AWARE_OUTSIDE_DB);
  });

  it('no store spells an engine-specific SQL function or hint', () => {
    const spelled = files.filter((f) => !f.startsWith('server/db/') && !f.startsWith('server/cluster/') && /json_each|json_array_elements|INDEXED BY|pg_advisory|::json/.test(readFileSync(join(root, f), 'utf8')));
    expect(spelled).toEqual([]);
  });
});
