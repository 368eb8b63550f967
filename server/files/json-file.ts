import { readFileSync } from 'node:fs';

export class JsonFileError extends Error {}

/** Reads and parses a JSON file; errors name the file and never include its contents. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new JsonFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JsonFileError(`${path} is not valid JSON`);
  }
}

