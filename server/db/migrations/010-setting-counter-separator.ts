import type { Migration } from './index.js';

/**
 * Setting counters' keys separated their parts with NUL, which PostgreSQL
 * text cannot hold; both engines now use U+001F (rollout-counters.ts).
 * SQLite: rewritten here, key by key (SQLite's own string functions stop at
 * a NUL). PostgreSQL: nothing to rewrite — a NUL never got into a `text`
 * column, so every key there was written with U+001F from the start.
 */
export const settingCounterSeparator: Migration = {
  version: 10,
  name: 'setting-counter-separator',
  sqlite(db) {
    const rows = db.prepare<[], { rollout_id: string; key: string }>("SELECT rollout_id, key FROM rollout_counters WHERE key LIKE 'setting:%'").all();
    const rename = db.prepare('UPDATE rollout_counters SET key = ? WHERE rollout_id = ? AND key = ?');
    for (const r of rows) if (r.key.includes('\u0000')) rename.run(r.key.replaceAll('\u0000', '\u001f'), r.rollout_id, r.key);
  },
  postgres: '',
};
