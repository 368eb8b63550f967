import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createDeviceEdgeOf, createExpressApp } from '../../server/app.js';
import { limitPrincipal } from '../../server/http/rate-limit.js';
import { createRequestObserver } from '../../server/http/request-observer.js';
import { API_ROUTES } from '../../server/openapi/api-routes.js';
import { buildOpenApiDocument } from '../../server/openapi/openapi-document.js';
import { apiContract } from '../helpers/api-contract.js';
import { makeApp } from '../helpers/fixtures.js';
import { OPERATOR_ROUTES } from '../http/route-table.js';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; security: unknown[]; 'x-roles'?: string[]; requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>>; components: { schemas: Record<string, unknown> } };

/** The routes the device edge serves ahead of Express (server/http/device-edge.ts), as registered. */
async function edgeRoutes(): Promise<{ method: string; path: string }[]> {
  const f = await makeApp();
  const observer = createRequestObserver({ logger: f.ctx.logger, metrics: f.ctx.metrics, authFailuresPerMinute: 1000 });
  return createDeviceEdgeOf(f.ctx, observer, limitPrincipal(1000)).routes()
    .filter((r) => r.method !== 'HEAD')
    .map((r) => ({ method: r.method.toLowerCase(), path: r.route }));
}


interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (method, path) the Express app routes, walking its routers. */
async function expressRoutes(): Promise<{ method: string; path: string }[]> {
  const f = await makeApp();
  const app = createExpressApp(f.ctx, createRequestObserver({ logger: f.ctx.logger, metrics: f.ctx.metrics, authFailuresPerMinute: 1000 }));
  const out: { method: string; path: string }[] = [];
  const walk = (stack: Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m, path: layer.route.path });
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

/** `/v1/rollouts/:id/start` or `/v1/rollouts/some-rollout/start` → the documented template that matches it. */
function templateFor(doc: Doc, method: string, path: string): string | undefined {
  const segments = path.split('/');
  return Object.keys(doc.paths).find((t) => {
    const ts = t.split('/');
    return ts.length === segments.length && ts.every((s, i) => s === segments[i] || (s.startsWith('{') && (segments[i]?.startsWith(':') || /^[A-Za-z0-9._:-]+$/.test(segments[i] ?? '')))) && doc.paths[t]?.[method] !== undefined;
  });
}

const fetchDoc = async (): Promise<{ doc: Doc; etag: string }> => {
  const res = await request((await makeApp()).app).get('/v1/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return { doc: res.body as Doc, etag: res.headers.etag as string };
};

describe('GET /v1/openapi.json (protocol §7)', () => {
  it('is public, cached with an ETag, and valid OpenAPI 3.1 by a maintained validator', async () => {
    const f = await makeApp();
    const res = await request(f.app).get('/v1/openapi.json');
    expect(res.status).toBe(200);
    expect((await request(f.app).get('/v1/openapi.json').set('If-None-Match', res.headers.etag as string)).status).toBe(304);
    const doc = res.body as Doc;
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Every $ref resolves.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('the validator really checks 3.1: broken documents are refused', async () => {
    const { doc } = await fetchDoc();
    const broken = [
      (d: Record<string, unknown>) => delete d.info,
      (d: Record<string, unknown>) => ((d.paths as Record<string, unknown>)['/v1/audit'] = { get: { responses: 'none' } }),
      (d: Record<string, unknown>) => ((d.paths as Record<string, Record<string, Record<string, unknown>>>)['/healthz']!.get!.parameters = [{ name: 'x', in: 'nowhere' }]),
      (d: Record<string, unknown>) => ((d.components as Record<string, unknown>).securitySchemes = { bearer: { type: 'magic' } }),
    ];
    for (const breakIt of broken) {
      const copy = structuredClone(doc) as unknown as Record<string, unknown>;
      breakIt(copy);
      expect((await new Validator().validate(copy)).valid).toBe(false);
    }
  });

  it('documents every route the server answers, and nothing it does not', async () => {
    const { doc } = await fetchDoc();
    // The dashboard (protocol §10, /ui/) is HTML for browsers, not part of the JSON API.
    const served = [...await expressRoutes(), ...await edgeRoutes()].filter((r) => r.path !== '/ui' && !r.path.startsWith('/ui/'));
    expect(served.length).toBeGreaterThan(20);
    const missing = served.filter((r) => templateFor(doc, r.method, r.path) === undefined).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing, 'add these to server/openapi/api-routes.ts').toEqual([]);
    // The operator route table the auth tests use is documented too, with the same roles.
    for (const r of OPERATOR_ROUTES) {
      const template = templateFor(doc, r.method, r.path);
      expect(template, `${r.method} ${r.path}`).toBeDefined();
      expect([...(doc.paths[template as string]?.[r.method]?.['x-roles'] ?? [])].sort(), `${r.method} ${r.path}`).toEqual([...r.allowed].sort());
    }
    // And nothing documented that the server does not route.
    const routed = new Set(served.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    const stale = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).filter((k) => !routed.has(k));
    expect(stale).toEqual([]);
  });

  it('operation ids are unique; public routes need no token, the others a bearer token', async () => {
    const { doc } = await fetchDoc();
    const ops = Object.values(doc.paths).flatMap((o) => Object.values(o));
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    expect(doc.paths['/v1/trust/root']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/openapi.json']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/rollouts/{id}/halt']?.post?.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/v1/rollouts/{id}/halt']?.post?.['x-roles']?.sort()).toEqual(['admin', 'qa', 'release-manager']);
  });

  it('request bodies are the schemas that validate requests: the document accepts and refuses what the server does', async () => {
    const { doc } = await fetchDoc();
    const ref = doc.paths['/v1/rollouts']?.post?.requestBody?.content['application/json']?.schema.$ref;
    expect(ref).toBe('#/components/schemas/RolloutCreate');
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv, ['date-time']);
    ajv.addSchema({ $id: 'urn:ota:openapi', components: doc.components });
    const validate = ajv.compile({ $ref: `urn:ota:openapi${ref as string}` });
    const good = { releaseId: 'redmi-1s-cloud-optin-2014-08', stages: [{ cohort: 'all', basisPoints: 10000 }], failurePolicy: { maxFailureBasisPoints: 500, minTerminalReports: 50, reportTimeoutSeconds: 3600 } };
    const bad = [{ ...good, extra: 1 }, { ...good, releaseId: 'Not A Slug' }, { ...good, stages: [{ cohort: 'all', basisPoints: 10001 }] }];
    expect(validate(good)).toBe(true);
    const f = await makeApp();
    for (const body of bad) {
      expect(validate(body), JSON.stringify(body)).toBe(false);
      const res = await request(f.app).post('/v1/rollouts').set('Authorization', `Bearer ${f.tokens['release-manager']}`).send(body);
      expect(res.status).toBe(400);
    }
    // Every bundled schema compiles as JSON Schema 2020-12 with its references resolved.
    for (const name of Object.keys(doc.components.schemas)) expect(() => ajv.compile({ $ref: `urn:ota:openapi#/components/schemas/${name}` })).not.toThrow();
  });

  it('describes every answer: each JSON success has a response schema, each error the §7 error body', async () => {
    const { doc } = await fetchDoc();
    type Responses = Record<string, { content?: Record<string, { schema?: { $ref?: string; oneOf?: { $ref?: string }[] } }> }>;
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries((op as unknown as { responses: Responses }).responses)) {
          const json = r.content?.['application/json'];
          if (json === undefined) continue;
          // The document itself is the one JSON answer without a schema of its own (it is OpenAPI 3.1).
          // A schema file's $ref, or a oneOf of them (GET /v1/devices answers devices or admission requests).
          const named = json.schema?.$ref !== undefined || (Array.isArray(json.schema?.oneOf) && json.schema.oneOf.length > 0 && json.schema.oneOf.every((o) => o.$ref !== undefined));
          if (!named && path !== '/v1/openapi.json') missing.push(`${method} ${path} ${status}`);
          if ((status === 'default' || Number(status) >= 400) && path !== '/healthz') expect(json.schema?.$ref, `${method} ${path} ${status}`).toBe('#/components/schemas/ErrorBody');
        }
      }
    }
    expect(missing, 'name a response schema (server/schema/response-schemas.ts) in server/openapi/api-routes.ts').toEqual([]);
    expect(doc.paths['/v1/rollouts/{id}/status']?.get).toMatchObject({ responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/RolloutStatus' } } } } } });
    // The error body's codes are the one table in server/errors.ts.
    const code = (doc.components.schemas.ErrorBody as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error.properties.code;
    expect(code.enum).toContain('seq_conflict');
  });

  it('the answer check is not a formality: it refuses a body that strays from the schema, naming the problem', async () => {
    const { check } = apiContract();
    const health = { status: 'ok', db: 'ok', rootVersion: 1, policyVersion: 1 };
    expect(() => check('GET', '/healthz', 200, 'application/json', health)).not.toThrow();
    expect(() => check('GET', '/healthz', 200, 'application/json', { ...health, extra: 1 })).toThrow(/additional/);
    expect(() => check('GET', '/healthz', 200, 'application/json', { ...health, rootVersion: '1' })).toThrow(/rootVersion/);
    expect(() => check('GET', '/v1/whoami', 200, 'application/json', { kind: 'device', name: 'x', role: 'viewer' })).toThrow();
    expect(() => check('GET', '/v1/audit', 404, 'application/json', { error: { code: 'no_such_code', message: 'x' } })).toThrow(/code/);
    expect(() => check('GET', '/v1/audit', 404, 'application/json', { error: { code: 'not_found', message: 'x' } })).not.toThrow();
    expect(() => check('GET', '/v1/audit', 201, 'application/json', { entries: [], nextCursor: null })).toThrow(/does not list/);
    expect(() => check('GET', '/v1/nowhere', 200, 'application/json', {})).toThrow(/not in the OpenAPI document/);
  });

  it('a route whose path parameter has no known schema stops the build, naming it', () => {
    expect(() => buildOpenApiDocument([...API_ROUTES, { method: 'get', path: '/v1/things/{thingId}', summary: 'x', auth: 'public', tag: 'x', responses: { 200: 'x' } }])).toThrow(/thingId/);
  });
});
