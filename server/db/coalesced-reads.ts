import type { Sql } from './sql.js';

/** Keys read together at most: one statement's row set stays small. */
const MAX_KEYS = 500;

/**
 * Point reads by key outside any transaction, coalesced where a statement
 * costs a network round trip (issue 20, cold polls: every poll of a device
 * not in the device cache read its row alone). On PostgreSQL the keys asked
 * for in one turn of the event loop are read by ONE `loadMany` call; on
 * SQLite, whose statements run in-process in microseconds, each key is
 * read at once (waiting a turn would only add latency). Either way a
 * caller gets its own key's value, or undefined when there is none, and a
 * failed read rejects the callers it served.
 */
export function coalescedReads<V>(sql: Pick<Sql, 'engine'>, loadMany: (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>) {
  if (sql.engine === 'sqlite') return async (key: string): Promise<V | undefined> => (await loadMany([key])).get(key);

  type Callers = Map<string, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]>;
  /** The keys of this turn, read at the turn's end. */
  let waiting: Callers | undefined;
  const read = async (batch: Callers): Promise<void> => {
    try {
      const found = await loadMany([...batch.keys()]);
      for (const [key, callers] of batch) for (const c of callers) c.resolve(found.get(key));
    } catch (e) {
      for (const callers of batch.values()) for (const c of callers) c.reject(e);
    }
  };
  const open = (): Callers => {
    const batch: Callers = new Map();
    waiting = batch;
    // The rest of this turn joins the same read.
    setImmediate(() => {
      if (waiting === batch) waiting = undefined;
      void read(batch);
    });
    return batch;
  };
  return (key: string): Promise<V | undefined> =>
    new Promise((resolve, reject) => {
      // A full batch still goes at its turn's end; later keys start the next one.
      const batch = waiting && (waiting.has(key) || waiting.size < MAX_KEYS) ? waiting : open();
      const callers = batch.get(key);
      if (callers) callers.push({ resolve, reject });
      else batch.set(key, [{ resolve, reject }]);
    });
}
