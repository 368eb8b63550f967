import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../server/openapi/api-routes.js';
import { generateApiTypes } from '../../server/openapi/api-types-generator.js';
import { API_TYPES_FILE } from '../../server/openapi/gen-api-types.js';
import { buildOpenApiDocument } from '../../server/openapi/openapi-document.js';

type Components = Record<string, Record<string, unknown>>;
const components = (): Components => (buildOpenApiDocument(API_ROUTES) as { components: { schemas: Components } }).components.schemas;

describe('the generated API types (npm run gen:api)', () => {
  it(`${API_TYPES_FILE} is what the schemas generate today: run \`npm run gen:api\` after changing a schema`, async () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(await generateApiTypes(components()));
  }, 60_000);

  it('follows the schemas: a field made optional, or added, changes the text', async () => {
    const base = await generateApiTypes(components());
    const optional = components();
    const status = optional.RolloutStatus as { required: string[] };
    status.required = status.required.filter((f) => f !== 'reported');
    expect(base).toMatch(/\n {2}reported: number;/);
    expect(await generateApiTypes(optional)).toMatch(/\n {2}reported\?: number;/);
    const added = components();
    (added.Health as { properties: Record<string, unknown> }).properties.uptimeSeconds = { type: 'integer' };
    expect(await generateApiTypes(added)).toMatch(/uptimeSeconds\?: number;/);
  }, 60_000);

  it('names every component and the parts other schemas share, each once', async () => {
    const text = await generateApiTypes(components());
    for (const name of ['RolloutView', 'RolloutStatus', 'PollAnswer', 'ErrorBody', 'Whoami', 'Stage', 'HaltRecord', 'DeviceError', 'RolloutState', 'OperatorRole', 'Release']) {
      expect(text.match(new RegExp(`^export (?:interface|type) ${name}\\b`, 'gm')), name).toHaveLength(1);
    }
    // No numbered twins (Slug1) from a shared part met twice.
    expect(text).not.toMatch(/^export (?:interface|type) \w+\d\b/m);
  }, 60_000);
});
