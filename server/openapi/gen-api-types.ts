import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { API_ROUTES } from './api-routes.js';
import { generateApiTypes } from './api-types-generator.js';
import { buildOpenApiDocument } from './openapi-document.js';

/** Where the generated types live, relative to the repository root. */
export const API_TYPES_FILE = 'server/openapi/api-types.generated.ts';

/** `npm run gen:api`: writes the contract's TypeScript types (run from the repository root). */
export async function writeApiTypes(file: string = API_TYPES_FILE): Promise<void> {
  const doc = buildOpenApiDocument(API_ROUTES) as { components: { schemas: Record<string, Record<string, unknown>> } };
  writeFileSync(file, await generateApiTypes(doc.components.schemas));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeApiTypes();
  console.log(`wrote ${API_TYPES_FILE}`);
}
