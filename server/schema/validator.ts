import { Ajv2020, type ErrorObject, type AnySchema } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import common from '../../manifests/schema/common.schema.json' with { type: 'json' };
import { AppError, type ErrorDetail } from '../errors.js';

/**
 * One Ajv instance for every schema in manifests/schema/: the same files
 * document the formats for device vendors and validate at the edge.
 * allErrors so a refusal lists every problem at once.
 */
const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: false });
// date-time checks the calendar too (no 31 February), which the pattern alone cannot.
addFormats.default(ajv, ['date-time']);
ajv.addSchema(common);

export type Validator<T> = (value: unknown) => T;

function toDetails(errors: ErrorObject[] | null | undefined): ErrorDetail[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})`
        : e.keyword === 'enum' || e.keyword === 'const'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown; allowedValue?: unknown }).allowedValues ?? (e.params as { allowedValue?: unknown }).allowedValue)})`
          : '';
    return { path: e.instancePath || '/', code: e.keyword, message: `${e.message ?? 'is invalid'}${extra}` };
  });
}

/**
 * Compiles a schema once; the returned function either returns the value,
 * now typed, or throws `validation_failed` naming every problem.
 */
export function compileValidator<T>(schema: AnySchema, what: string, refs: AnySchema[] = []): Validator<T> {
  for (const ref of refs) {
    const id = (ref as { $id?: string }).$id;
    if (id && !ajv.getSchema(id)) ajv.addSchema(ref);
  }
  const id = (schema as { $id?: string }).$id;
  const validate = (id && ajv.getSchema(id)) || ajv.compile(schema);
  return (value: unknown): T => {
    if (validate(value)) return value as T;
    throw new AppError('validation_failed', `${what} is not valid`, { details: toDetails(validate.errors).slice(0, 50) });
  };
}
