import type { StateStore } from './ports.js';

/** A StateStore in memory (tests, or a simulator running thousands of agents without a file each). */
export function createMemoryStateStore(initial?: string): StateStore & { json: string | undefined } {
  const store = {
    json: initial,
    load: async (): Promise<unknown> => (store.json === undefined ? undefined : (JSON.parse(store.json) as unknown)),
    save: async (json: string): Promise<void> => {
      store.json = json;
    },
  };
  return store;
}
