import common from '../../manifests/schema/common.schema.json' with { type: 'json' };
import release from '../../manifests/schema/release.schema.json' with { type: 'json' };
import root from '../../manifests/schema/root.schema.json' with { type: 'json' };
import rolloutStatement from '../../manifests/schema/rollout-statement.schema.json' with { type: 'json' };
import settingsPolicy from '../../manifests/schema/settings-policy.schema.json' with { type: 'json' };
import withdrawal from '../../manifests/schema/withdrawal.schema.json' with { type: 'json' };

export type JsonSchema = Record<string, unknown>;

/**
 * Schemas that request schemas refer to without being request bodies
 * themselves. A route's own body and response schemas need no listing here:
 * the bundle takes them from the route table. A `$ref` to a file in neither
 * place fails the document's build (and test/openapi), naming the file.
 */
export const SHARED_SCHEMAS: JsonSchema[] = [common, release, root, settingsPolicy, rolloutStatement, withdrawal];

const COMPONENTS = '#/components/schemas/';

/** `https://ota.example/schema/api/rollout-create.schema.json` → `RolloutCreate`. */
export function componentName(id: string): string {
  const file = id.slice(id.lastIndexOf('/') + 1).replace(/\.schema\.json$/, '');
  return file.replace(/(^|[-.])([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

const idOf = (schema: JsonSchema): string => {
  const id = schema.$id;
  if (typeof id !== 'string') throw new Error(`a schema in the OpenAPI bundle has no $id: ${JSON.stringify(schema).slice(0, 80)}`);
  return id;
};

/**
 * OpenAPI 3.1 takes JSON Schema 2020-12 as is; only the references change.
 * Each schema file becomes one component, its `$id` and `$schema` dropped,
 * and every `$ref` (relative to the file's `$id`) is rewritten to point into
 * `#/components/schemas/`, keeping the JSON pointer after `#`, so any
 * OpenAPI tool resolves it without fetching anything.
 */
export function bundleSchemas(schemas: JsonSchema[]): { components: Record<string, JsonSchema>; refOf: (schema: JsonSchema) => string } {
  const byId = new Map<string, JsonSchema>();
  for (const s of [...SHARED_SCHEMAS, ...schemas]) byId.set(idOf(s), s);
  const names = new Map<string, string>();
  for (const id of byId.keys()) {
    const name = componentName(id);
    const clash = [...names].find(([other, n]) => n === name && other !== id);
    if (clash) throw new Error(`schemas ${id} and ${clash[0]} would both be the component ${name}`);
    names.set(id, name);
  }

  const rewrite = (value: unknown, base: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => rewrite(v, base));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === '$ref' && typeof v === 'string') {
        const target = new URL(v, base);
        const file = `${target.origin}${target.pathname}`;
        const name = names.get(file);
        if (name === undefined) throw new Error(`${base} refers to ${file}, which is not in the OpenAPI bundle (server/openapi/schema-bundle.ts)`);
        out.$ref = `${COMPONENTS}${name}${decodeURIComponent(target.hash.slice(1))}`;
      } else {
        out[k] = rewrite(v, base);
      }
    }
    return out;
  };

  const components: Record<string, JsonSchema> = {};
  for (const [id, schema] of byId) {
    const { $id: _id, $schema: _dialect, ...body } = schema;
    components[names.get(id) as string] = rewrite(body, id) as JsonSchema;
  }
  return { components, refOf: (schema) => `${COMPONENTS}${names.get(idOf(schema)) as string}` };
}
