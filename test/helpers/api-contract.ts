import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { API_ROUTES } from '../../server/openapi/api-routes.js';
import { buildOpenApiDocument } from '../../server/openapi/openapi-document.js';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

const DOC_ID = 'urn:ota:openapi';

/** `/v1/rollouts/e2e-rollout/status?x=1` → `/v1/rollouts/{id}/status`: the documented template it matches, literal segments first. */
export function templateOf(doc: { paths: Record<string, unknown> }, method: string, path: string): string | undefined {
  const segments = (path.split('?')[0] as string).split('/');
  const candidates = Object.keys(doc.paths).filter((t) => {
    const ts = t.split('/');
    return ts.length === segments.length && ts.every((s, i) => s === segments[i] || s.startsWith('{')) && (doc.paths[t] as Record<string, unknown>)[method] !== undefined;
  });
  // `/v1/rollouts/{id}/start` beats `/v1/rollouts/{id}/{anything}`: fewer parameters first.
  return candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
}

/**
 * Checks real answers against what the OpenAPI document (built from
 * api-routes.ts and the response schemas) says each route answers with,
 * status by status. This is what makes the contract real: a field the server
 * adds, drops or shapes differently fails the test that saw it.
 */
export function apiContract() {
  const doc = buildOpenApiDocument(API_ROUTES) as unknown as Doc;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv, ['date-time']);
  ajv.addSchema({ $id: DOC_ID, components: doc.components });
  const compiled = new Map<string, ValidateFunction>();
  const seen = new Set<string>();

  /** Throws, naming the route and every problem, when a JSON answer is not what the document says. */
  const check = (method: string, path: string, status: number, contentType: string | undefined, body: unknown): void => {
    const m = method.toLowerCase();
    const template = templateOf(doc, m, path);
    if (template === undefined) throw new Error(`${method} ${path}: not in the OpenAPI document`);
    if (status === 304 || !contentType?.startsWith('application/json')) return;
    const op = doc.paths[template]?.[m] as Operation;
    // An error status the route does not list is the document's `default`: the §7 error body.
    const documented = op.responses[String(status)] ?? (status >= 400 ? op.responses.default : undefined);
    if (documented === undefined) throw new Error(`${method} ${template} answered ${status}, which the document does not list`);
    const schema = documented.content?.['application/json']?.schema;
    if (schema === undefined) throw new Error(`${method} ${template} ${status}: the document gives no schema for this JSON answer`);
    const key = `${m} ${template} ${status}`;
    let validate = compiled.get(key);
    if (!validate) {
      // A schema is a component's $ref, or a oneOf of them (GET /v1/devices: devices or admission requests).
      const absolute = (x: { $ref?: string; oneOf?: { $ref?: string }[] }): object =>
        x.$ref !== undefined ? { $ref: `${DOC_ID}${x.$ref}` } : { oneOf: (x.oneOf ?? []).map(absolute) };
      validate = ajv.compile(absolute(schema as { $ref?: string; oneOf?: { $ref?: string }[] }));
      compiled.set(key, validate);
    }
    if (!validate(body)) {
      throw new Error(`${method} ${path} ${status} is not what the contract says:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(body).slice(0, 500)}`);
    }
    seen.add(key);
  };
  return { doc, check, seen };
}
