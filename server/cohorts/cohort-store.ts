import type { Sql } from '../db/sql.js';
import { serialRefresh } from '../db/view-refresh.js';
import { ALL_COHORT, compileRule, type Cohort, type CompiledRule } from './cohort.js';

export interface CohortView extends Cohort {
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

interface CohortRow {
  name: string;
  description: string | null;
  rule: string | null;
  created_at: string;
  updated_at: string;
  members: number;
}

export interface CachedCohort {
  name: string;
  rule: CompiledRule | undefined;
  hasMembers: boolean;
  /** The member list itself when it is small enough to keep in memory (QA benches, pilots). */
  members: ReadonlySet<string> | undefined;
}

/** Larger member lists stay in SQLite and are read per device. */
const MEMBERS_IN_MEMORY = 50_000;

const toView = (r: CohortRow): CohortView => ({
  name: r.name,
  ...(r.description !== null ? { description: r.description } : {}),
  ...(r.rule !== null ? { rule: JSON.parse(r.rule) as Cohort['rule'] } : {}),
  memberCount: r.members,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const ALL_VIEW: CohortView = {
  name: ALL_COHORT,
  description: 'Every enrolled device (implicit)',
  memberCount: 0,
  createdAt: '1970-01-01T00:00:00Z',
  updatedAt: '1970-01-01T00:00:00Z',
};

export type CohortStore = ReturnType<typeof createCohortStore>;

/**
 * Cohorts with their rules compiled and kept in memory: the poll path never
 * parses a rule nor waits for one. The view is rebuilt whole by `refresh()`
 * (at start and after every cohort change this node makes); `exists` and
 * `cached` read memory only.
 */
export function createCohortStore(sql: Sql) {
  const select = 'SELECT c.name, c.description, c.rule, c.created_at, c.updated_at, (SELECT COUNT(*) FROM cohort_members m WHERE m.cohort = c.name) AS members FROM cohorts c';
  const addMembers = async (name: string, members: readonly string[]): Promise<void> => {
    if (members.length === 0) return;
    // One statement for a whole list, not one call per id: a 10,000-id list is a few ms of
    // database work instead of 10,000 round trips, which kept the event loop busy.
    await sql.run(`INSERT INTO cohort_members (device_id, cohort) SELECT value, ? FROM ${sql.dialect.jsonTextElements} WHERE true ON CONFLICT DO NOTHING`, [name, JSON.stringify(members)]);
  };

  let cache = new Map<string, CachedCohort>();
  /** Rebuilds the in-memory view whole from the store (start, after a change, or a change made elsewhere). */
  const refresh = serialRefresh(async (): Promise<void> => {
    const next = new Map<string, CachedCohort>();
    for (const r of await sql.all<CohortRow>(`${select} ORDER BY c.name`)) {
      const inMemory = r.members > 0 && r.members <= MEMBERS_IN_MEMORY;
      next.set(r.name, {
        name: r.name,
        rule: r.rule === null ? undefined : compileRule(JSON.parse(r.rule) as NonNullable<Cohort['rule']>),
        hasMembers: r.members > 0,
        members: inMemory
          ? new Set((await sql.all<{ deviceId: string }>('SELECT device_id AS "deviceId" FROM cohort_members WHERE cohort = ?', [r.name])).map((m) => m.deviceId))
          : undefined,
      });
    }
    cache = next;
  });

  return {
    refresh,
    exists: (name: string): boolean => name === ALL_COHORT || cache.has(name),
    cached: (name: string): CachedCohort | undefined => cache.get(name),
    async get(name: string): Promise<CohortView | undefined> {
      if (name === ALL_COHORT) return ALL_VIEW;
      const row = await sql.one<CohortRow>(`${select} WHERE c.name = ?`, [name]);
      return row && toView(row);
    },
    list: async (): Promise<CohortView[]> => [ALL_VIEW, ...(await sql.all<CohortRow>(`${select} ORDER BY c.name`)).map(toView)],
    /** Call `refresh()` after the transaction that holds this commits. */
    async insert(c: Cohort & { members?: string[] }, at: string): Promise<void> {
      await sql.run('INSERT INTO cohorts (name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        [c.name, c.description ?? null, c.rule ? JSON.stringify(c.rule) : null, at, at]);
      await addMembers(c.name, c.members ?? []);
    },
    /** Call `refresh()` after the transaction that holds this commits. */
    async replaceMembers(name: string, members: readonly string[], at: string): Promise<void> {
      await sql.run('DELETE FROM cohort_members WHERE cohort = ?', [name]);
      await addMembers(name, members);
      await sql.run('UPDATE cohorts SET updated_at = ? WHERE name = ?', [at, name]);
    },
    /** Explicit memberships of one device (one indexed read). */
    cohortsOf: async (deviceId: string): Promise<string[]> =>
      (await sql.all<{ cohort: string }>('SELECT cohort FROM cohort_members WHERE device_id = ?', [deviceId])).map((r) => r.cohort),
    members: async (name: string, after: string, limit: number): Promise<string[]> =>
      (await sql.all<{ deviceId: string }>('SELECT device_id AS "deviceId" FROM cohort_members WHERE cohort = ? AND device_id > ? ORDER BY device_id LIMIT ?', [name, after, limit]))
        .map((r) => r.deviceId),
  };
}
