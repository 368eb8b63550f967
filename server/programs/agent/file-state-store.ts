import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StateStore } from './ports.js';

let counter = 0;

/**
 * The agent's state as one JSON file, replaced atomically: write a temp
 * file beside it, fsync, rename over. A crash leaves the old or the new
 * document, never half of one.
 */
export function createFileStateStore(path: string): StateStore {
  return {
    async load(): Promise<unknown> {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      return JSON.parse(text) as unknown;
    },
    async save(json: string): Promise<void> {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${++counter}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(json, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    },
  };
}
