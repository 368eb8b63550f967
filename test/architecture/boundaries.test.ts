import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The import graph of server/ against the layers of docs/architecture.md:
 * an import may point down the layer order or across one layer, never up;
 * route and edge files never reach the database. (That only db/ knows the
 * engine is test/db/engine-boundary.test.ts.)
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = join(root, 'server');

/** Lowest first; the order docs/architecture.md draws. */
const LAYERS = ['kernel', 'storage', 'domain', 'services', 'http', 'device-core', 'edge', 'composition'] as const;
type Layer = (typeof LAYERS)[number];

/** The shared protocol core (manifest, bucket, report rules, checkpoint, crypto, trust): the server and the device agent both import it. */
const KERNEL = new Set(['protocol', 'schema', 'files', 'trust', 'lib']);
const STORAGE = new Set(['db', 'cluster']);
/**
 * Domain folders, lowest first: a domain file imports only its own folder and
 * the folders before it. Services (`*-service.ts`) compose several domains'
 * stores into one transaction, so they sit one layer up and may import any.
 */
const DOMAIN_ORDER = ['audit', 'auth', 'artifacts', 'cohorts', 'releases', 'rollouts', 'transparency', 'devices', 'reports', 'notifications', 'ops', 'data-folder'];
const DOMAIN = new Set(DOMAIN_ORDER);
const isService = (rel: string): boolean => /-service\.ts$/.test(rel);
/** The demo seeds the embedded default's rollout at start: part of the composition root. */
const COMPOSITION_FOLDERS = new Set(['demo']);
/** The device-protocol gateways (hawkBit DDI §11, Mender §12) are edges: they translate and call the device core. */
const EDGE_FOLDERS = new Set(['openapi', 'dashboard', 'ddi', 'mender']);
const COMPOSITION = new Set(['app.ts', 'context.ts', 'serve.ts', 'main.ts']);

/** The connection and its engines (types of services built on them, such as GroupCommit, are fine). */
const DATABASE_MODULES = /^db\/(sql|sqlite-sql|postgres-sql|connect|open)\.ts$|^cluster\/advisory-locks\.ts$/;

/** Route and edge files: they translate HTTP and call services, never the database. */
const isEdgeFile = (rel: string): boolean => /-routes\.ts$/.test(rel) || rel === 'http/device-edge.ts';

function layerOf(rel: string): Layer | 'program' {
  const [top] = rel.split('/') as [string];
  if (!rel.includes('/')) {
    if (COMPOSITION.has(rel)) return 'composition';
    if (rel === 'errors.ts') return 'kernel';
    if (rel === 'config.ts') return 'storage';
    throw new Error(`server/${rel} has no layer: add it to test/architecture/boundaries.test.ts and docs/architecture.md`);
  }
  if (top === 'programs') return 'program';
  if (COMPOSITION_FOLDERS.has(top)) return 'composition';
  if (isEdgeFile(rel) || EDGE_FOLDERS.has(top)) return 'edge';
  if (KERNEL.has(top)) return 'kernel';
  if (STORAGE.has(top)) return 'storage';
  if (DOMAIN.has(top)) return isService(rel) ? 'services' : 'domain';
  if (top === 'http') return 'http';
  if (top === 'device-core') return 'device-core';
  throw new Error(`server/${top}/ has no layer: add it to test/architecture/boundaries.test.ts and docs/architecture.md`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'web' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
}

/** Every relative import (static, re-export, dynamic, type-only) of every file, as paths under server/. */
function importGraph(): { files: Map<string, string>; edges: Edge[] } {
  const files = new Map<string, string>();
  const edges: Edge[] = [];
  for (const file of sourceFiles(server)) {
    const rel = relative(server, file);
    const text = readFileSync(file, 'utf8');
    files.set(rel, text);
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = relative(server, resolve(dirname(file), fileName)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue;
      edges.push({ from: rel, to: target });
    }
  }
  return { files, edges };
}

const { files, edges } = importGraph();
const rank = (l: Layer | 'program'): number => (l === 'program' ? -1 : LAYERS.indexOf(l));

describe('architecture boundaries (docs/architecture.md)', () => {
  it('reads a real graph: the poll and report routes reach the device core, the core reaches the services', () => {
    expect(files.size).toBeGreaterThan(150);
    expect(edges).toContainEqual({ from: 'devices/device-routes.ts', to: 'device-core/device-core.ts' });
    expect(edges).toContainEqual({ from: 'reports/report-routes.ts', to: 'device-core/device-core.ts' });
    expect(edges).toContainEqual({ from: 'device-core/device-core.ts', to: 'reports/ingest-service.ts' });
  });

  it('only the composition root imports context.ts', () => {
    const offenders = edges.filter((e) => e.to === 'context.ts' && layerOf(e.from) !== 'composition').map((e) => e.from);
    expect(offenders).toEqual([]);
  });

  it('no import points up the layer order', () => {
    const up = edges.filter((e) => {
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      if (from === 'program') return false;
      // The server never depends on a separate program.
      if (to === 'program') return true;
      return rank(to) > rank(from);
    });
    expect(up.map((e) => `${e.from} (${layerOf(e.from)}) → ${e.to} (${layerOf(e.to)})`)).toEqual([]);
  });

  it('domain folders point one way: a domain file imports only its folder and the folders before it', () => {
    const top = (rel: string): string => rel.split('/')[0] as string;
    const back = edges.filter((e) => layerOf(e.from) === 'domain' && layerOf(e.to) === 'domain' && top(e.from) !== top(e.to) && DOMAIN_ORDER.indexOf(top(e.to)) > DOMAIN_ORDER.indexOf(top(e.from)));
    expect(back.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('the device agent imports only the shared protocol core and the schema validator from the server', () => {
    const agentEdges = edges.filter((e) => e.from.startsWith('programs/agent/') && !e.to.startsWith('programs/agent/'));
    expect(agentEdges.length).toBeGreaterThan(10);
    expect(agentEdges.filter((e) => !/^(protocol|schema)\//.test(e.to)).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('route and edge files never open a transaction, take a lock, run SQL or import the database', () => {
    const offenders: string[] = [];
    for (const [rel, text] of files) {
      if (!isEdgeFile(rel) && !rel.startsWith('device-core/')) continue;
      const reasons = [
        /\.transaction\(/.test(text) && 'opens a transaction',
        /holdUntilCommit|advisory-locks/.test(text) && 'takes a lock',
        /\bsql\s*\./.test(text) && 'uses sql',
        // Upper case: SQL is written so here, and a summary such as 'Delete a cohort' is not SQL.
        /['"`]\s*(SELECT|INSERT|UPDATE|DELETE)\s/.test(text) && 'holds SQL text',
        edges.some((e) => e.from === rel && DATABASE_MODULES.test(e.to)) && 'imports the database',
      ].filter(Boolean);
      if (reasons.length) offenders.push(`${rel}: ${reasons.join(', ')}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the checks see a violation when there is one', () => {
    expect(layerOf('rollouts/rollout-store.ts')).toBe('domain');
    expect(layerOf('rollouts/rollout-routes.ts')).toBe('edge');
    expect(rank(layerOf('http/device-edge.ts'))).toBeGreaterThan(rank(layerOf('devices/poll-service.ts')));
    expect(rank(layerOf('context.ts'))).toBeGreaterThan(rank(layerOf('device-core/device-core.ts')));
    expect(() => layerOf('newfolder/x.ts')).toThrow(/has no layer/);
    expect(layerOf('releases/publish-service.ts')).toBe('services');
    expect(layerOf('programs/agent/agent.ts')).toBe('program');
    expect(DOMAIN_ORDER.indexOf('rollouts')).toBeLessThan(DOMAIN_ORDER.indexOf('devices'));
  });
});
