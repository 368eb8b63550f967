import { packageVersion } from '../files/package-root.js';
import { errorStatus } from '../errors.js';
import type { ApiResponse, ApiRoute } from './api-routes.js';
import { RESPONSE_SCHEMAS } from '../schema/response-schemas.js';
import { bundleSchemas, componentName, type JsonSchema } from './schema-bundle.js';

const ERROR_COMPONENT = componentName(RESPONSE_SCHEMAS.errorBody.$id);

const COMMON = '#/components/schemas/Common/$defs/';

/** Path parameters by name, with the identifier patterns of protocol §5 (anything else is 400). */
export const PATH_PARAMS: Record<string, JsonSchema> = {
  id: { $ref: `${COMMON}slug` },
  name: { $ref: `${COMMON}slug` },
  deviceId: { $ref: `${COMMON}deviceId` },
  sha256: { $ref: `${COMMON}hex32` },
  version: { type: 'integer', minimum: 1 },
  // protocol §11 (hawkBit DDI)
  tenant: { type: 'string', description: 'the one tenant, OTA_DDI_TENANT (default DEFAULT); any other is 404' },
  controllerId: { $ref: `${COMMON}deviceId` },
  actionId: { type: 'integer', minimum: 1, maximum: 2147483647 },
  moduleId: { $ref: `${COMMON}hex32` },
  filename: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$', description: 'the artifact file name; with .MD5SUM appended, its md5 line' },
};

/**
 * protocol §7 error body: the schema file, its `code` narrowed to the codes
 * of the one table in server/errors.ts (a file cannot import that table).
 */
function withErrorCodes(components: Record<string, JsonSchema>, name: string): void {
  const body = components[name] as { properties: { error: { properties: Record<string, JsonSchema> } } };
  body.properties.error.properties.code = { enum: Object.keys(errorStatus), description: 'The machine code: README lists each with its status.' };
}

/** `{id}` and the like, in order. */
export const pathParamsOf = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

const operationId = (r: ApiRoute): string =>
  `${r.method}${r.path.replace(/[{}]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => `${w[0]?.toUpperCase()}${w.slice(1)}`).join('')}`;

function authText(r: ApiRoute): string {
  if (r.auth === 'public') return 'Public: no token.';
  if (r.auth === 'device') return r.path.startsWith('/api/devices/') ? "The device's own token (issued by auth_requests once admitted)." : "The device's own token (issued at enrollment).";
  if (r.auth === 'ddi') return "hawkBit DDI (protocol §11): `Authorization: TargetToken <the device's token>` or `GatewayToken <a token of the gateway role>`; anything else is 401.";
  const roles = ['admin', ...r.auth];
  return `Operator token with one of the roles: ${roles.join(', ')}${r.path === '/v1/devices' ? "; or the device's own token, to re-enroll" : ''}.`;
}

/**
 * The OpenAPI 3.1 document of the HTTP API (protocol §7), built from the
 * route table (api-routes.ts) and the very JSON Schema files that validate
 * request bodies at the edge, bundled as components (schema-bundle.ts).
 */
export function buildOpenApiDocument(routes: readonly ApiRoute[]): Record<string, unknown> {
  // A response is one schema file, or a oneOf of them (GET /v1/devices: devices, or admission requests).
  const filesIn = (x: JsonSchema): JsonSchema[] =>
    typeof x.$id === 'string' ? [x] : Array.isArray(x.oneOf) ? (x.oneOf as JsonSchema[]).filter((o) => typeof o.$id === 'string') : [];
  const bodies = routes.flatMap((r) => [
    ...(r.body && r.body !== 'binary' ? [r.body] : []),
    ...Object.values(r.responses).flatMap((x) => (typeof x === 'object' && x.schema ? filesIn(x.schema) : [])),
  ]);
  const { components, refOf } = bundleSchemas([...bodies, RESPONSE_SCHEMAS.errorBody]);
  withErrorCodes(components, ERROR_COMPONENT);
  const errorRef = { $ref: refOf(RESPONSE_SCHEMAS.errorBody) };
  const schemaOf = (s: JsonSchema): JsonSchema =>
    typeof s.$id === 'string' ? { $ref: refOf(s) } : Array.isArray(s.oneOf) ? { ...s, oneOf: (s.oneOf as JsonSchema[]).map(schemaOf) } : s;

  const response = (status: number, r: string | ApiResponse) => {
    const { description, schema, contentType } = typeof r === 'string' ? { description: r, schema: undefined, contentType: undefined } : r;
    // No body: not modified, no content (the Mender statuses and an empty next), or an answer marked empty.
    if (status === 304 || status === 204 || (typeof r === 'object' && r.empty === true)) return { description };
    // An error status answers the §7 error body, unless the route names another (the degraded /healthz).
    // 204 No Content has no body to describe (RFC 9110 §15.3.5).
    if (status === 204) return { description };
    if (status >= 400 && !schema) return { description, content: { 'application/json': { schema: errorRef } } };
    return { description, content: { [contentType ?? 'application/json']: schema ? { schema: schemaOf(schema) } : {} } };
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters = [
      ...pathParamsOf(r.path).map((name) => {
        const schema = r.params?.[name] ?? PATH_PARAMS[name];
        if (!schema) throw new Error(`${r.method.toUpperCase()} ${r.path}: no schema for the path parameter ${name} (PATH_PARAMS or the route's params)`);
        return { name, in: 'path', required: true, schema };
      }),
      ...(r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: q.required ?? false, description: q.description, schema: q.schema })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) responses[status] = response(Number(status), res);
    if (r.auth !== 'public') {
      responses['401'] ??= response(401, 'unauthorized: no valid token');
      responses['403'] ??= response(403, 'forbidden: another role, or another device');
    }
    if (r.body || parameters.length) responses['400'] ??= response(400, r.body ? 'the body or a parameter is not valid (details name every problem)' : 'a parameter is not valid');
    responses.default = response(500, 'an error body (protocol §7), see the error codes in README');
    const operation = {
      operationId: operationId(r),
      summary: r.summary,
      description: authText(r),
      tags: [r.tag],
      security: r.auth === 'public' ? [] : r.auth === 'ddi' ? [{ ddiTargetToken: [] }, { ddiGatewayToken: [] }] : [{ bearer: [] }],
      ...(Array.isArray(r.auth) ? { 'x-roles': ['admin', ...r.auth] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: r.body === 'binary'
                ? { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
                : { 'application/json': { schema: schemaOf(r.body) } },
            },
          }
        : {}),
      responses,
    };
    (paths[r.path] ??= {})[r.method] = operation;
  }

  return {
    openapi: '3.1.1',
    info: {
      title: 'OTA update server',
      version: packageVersion(),
      description: 'Signed releases, staged rollouts and a settings-default policy. The contract is docs/protocol.md; this document is generated from the route table and the JSON Schemas that validate requests and describe every answer.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Operator token (ota_…) or device token (dev_…)' },
        ddiTargetToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'hawkBit DDI: "TargetToken <device token>" (protocol §11)' },
        ddiGatewayToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'hawkBit DDI: "GatewayToken <token of the gateway role>", for any controllerId (protocol §11)' },
      },
    },
  };
}
