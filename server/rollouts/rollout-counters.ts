import { rowSet, rowSetParam, SELECT_ALL_ROWS } from '../db/row-set.js';
import type { Sql } from '../db/sql.js';
import { failureFigures, type DeviceState, type FailureFigures } from '../protocol/report-rules.js';

export type Counters = ReadonlyMap<string, number>;

/**
 * Separates a setting counter's key, value and source. A control character
 * no policy key (common.schema.json settingKey), source or JSON text holds
 * raw, and one PostgreSQL text can store (unlike NUL, used before
 * migration 010).
 */
const SEP = '\u001f';
/** The character right after SEP: `setting:<key>SEP` ≤ every counter of that key < `setting:<key>SEP_END`. */
const SEP_END = '\u0020';

/** The prefix every counter of one setting key starts with (and no other counter does). */
export const settingCounterPrefix = (key: string): string => `setting:${key}${SEP}`;

/** Counter keys, in one place so writers and readers agree. */
export const counterKey = {
  state: (s: string) => `state:${s}`,
  offered: 'offered',
  offeredAt: (stage: number) => `offered:${stage}`,
  reportedAt: (stage: number) => `reported:${stage}`,
  setting: (key: string, value: unknown, source: string) => `setting:${key}${SEP}${JSON.stringify(value)}${SEP}${source}`,
  /** Devices whose value of `key` is one of the values past the cap (MAX_SETTING_VALUES); `*` is no JSON value. */
  settingOther: (key: string, source: string) => `setting:${key}${SEP}*${SEP}${source}`,
};

/** The parts of a setting counter's key (after `setting:`): the key, the value's JSON (or `*` for other values) and the source. */
export const settingCounterParts = (rest: string): [key: string, valueJson: string, source: string] => rest.split(SEP) as [string, string, string];

/**
 * Distinct reported values counted one by one per setting key and rollout.
 * Booleans and enums are bounded by their type; integer and string settings
 * are not, so a device reporting ever-new values could otherwise grow the
 * counters (and every status read) without end: values past this many are
 * counted together as "other values".
 */
export const MAX_SETTING_VALUES = 32;

export type CounterStore = ReturnType<typeof createCounterStore>;

/** Per-rollout counters, changed inside the caller's transaction so they always equal a recount. */
export function createCounterStore(sql: Sql) {
  return {
    async add(rolloutId: string, key: string, delta: number): Promise<void> {
      if (delta !== 0) {
        await sql.run(`INSERT INTO rollout_counters (rollout_id, key, value) VALUES (?, ?, ?)
          ON CONFLICT (rollout_id, key) DO UPDATE SET value = rollout_counters.value + excluded.value`, [rolloutId, key, delta]);
      }
    },
    /**
     * Many counter moves in one statement. At most one row per (rollout,
     * key): PostgreSQL refuses an upsert that touches a row twice, so the
     * caller sums its moves first. A zero move still creates its counter
     * (a setting's value is then known to the rollout: see MAX_SETTING_VALUES).
     */
    async addMany(moves: readonly { rolloutId: string; key: string; delta: number }[]): Promise<void> {
      if (moves.length === 0) return;
      await sql.run(`INSERT INTO rollout_counters (rollout_id, key, value) SELECT k.r, k.k, k.v FROM ${rowSet(sql, 'k', { r: 'text', k: 'text', v: 'int' })} ${SELECT_ALL_ROWS}
        ON CONFLICT (rollout_id, key) DO UPDATE SET value = rollout_counters.value + excluded.value`,
      [rowSetParam(moves.map((m) => ({ r: m.rolloutId, k: m.key, v: m.delta })))]);
    },
    /** Every setting counter's key of these rollouts (bounded per setting key: MAX_SETTING_VALUES), one statement. */
    async settingKeysOf(rolloutIds: readonly string[]): Promise<Map<string, Set<string>>> {
      const out = new Map<string, Set<string>>(rolloutIds.map((id) => [id, new Set<string>()]));
      if (rolloutIds.length === 0) return out;
      // 'setting;' is the first string after every 'setting:…' key: a range on the primary key.
      const rows = await sql.all<{ rollout_id: string; key: string }>(`SELECT rollout_counters.rollout_id, rollout_counters.key FROM ${rowSet(sql, 'k', { r: 'text' })}
        JOIN rollout_counters ON rollout_counters.rollout_id = k.r AND rollout_counters.key >= 'setting:' AND rollout_counters.key < 'setting;'`,
      [rowSetParam(rolloutIds.map((r) => ({ r })))]);
      for (const row of rows) out.get(row.rollout_id)?.add(row.key);
      return out;
    },
    has: async (rolloutId: string, key: string): Promise<boolean> =>
      (await sql.value('SELECT 1 FROM rollout_counters WHERE rollout_id = ? AND key = ?', [rolloutId, key])) !== undefined,
    /** How many counters exist for one setting key (all values and sources): at most 2 × (MAX_SETTING_VALUES + 1). */
    settingCounters: async (rolloutId: string, key: string): Promise<number> =>
      // Keys of one setting sort together (`setting:<key>SEP...`); SEP_END bounds the range on the primary key.
      (await sql.value<number>('SELECT COUNT(*) FROM rollout_counters WHERE rollout_id = ? AND key > ? AND key < ?',
        [rolloutId, `setting:${key}${SEP}`, `setting:${key}${SEP_END}`])) ?? 0,
    all: async (rolloutId: string): Promise<Counters> =>
      new Map((await sql.all<{ key: string; value: number }>('SELECT key, value FROM rollout_counters WHERE rollout_id = ?', [rolloutId])).map((r) => [r.key, r.value])),
  };
}

/** protocol §5 auto-halt figures of a rollout, from its counters. */
export const figuresOf = async (counters: CounterStore, rolloutId: string): Promise<FailureFigures> => {
  const all = await counters.all(rolloutId);
  return failureFigures((s: DeviceState) => all.get(counterKey.state(s)) ?? 0);
};
