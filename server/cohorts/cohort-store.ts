import type { Db } from '../db/open.js';
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

/** Cohorts with their rules compiled and cached in memory: the poll path never parses a rule. */
export function createCohortStore(db: Db) {
  const select = `SELECT c.*, (SELECT COUNT(*) FROM cohort_members m WHERE m.cohort = c.name) AS members FROM cohorts c`;
  const getStmt = db.prepare<[string], CohortRow>(`${select} WHERE c.name = ?`);
  const allStmt = db.prepare<[], CohortRow>(`${select} ORDER BY c.name`);
  const insertStmt = db.prepare('INSERT INTO cohorts (name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
  const touchStmt = db.prepare('UPDATE cohorts SET updated_at = ? WHERE name = ?');
  const clearMembers = db.prepare('DELETE FROM cohort_members WHERE cohort = ?');
  // One statement for a whole list (json_each), not one call per id: a 10,000-id list is a few ms of
  // SQLite instead of 10,000 round trips through the binding, which kept the event loop busy.
  const addMembersStmt = db.prepare<[string, string]>('INSERT OR IGNORE INTO cohort_members (device_id, cohort) SELECT value, ? FROM json_each(?)');
  const addMembers = (name: string, members: readonly string[]): void => {
    if (members.length > 0) addMembersStmt.run(name, JSON.stringify(members));
  };
  const cohortsOfDevice = db.prepare<[string], { cohort: string }>('SELECT cohort FROM cohort_members WHERE device_id = ?').pluck();
  const membersPage = db.prepare<[string, string, number], string>(
    'SELECT device_id FROM cohort_members WHERE cohort = ? AND device_id > ? ORDER BY device_id LIMIT ?',
  ).pluck();

  const allMembers = db.prepare<[string], string>('SELECT device_id FROM cohort_members WHERE cohort = ?').pluck();

  let cache: Map<string, CachedCohort> | undefined;
  const load = (): Map<string, CachedCohort> => {
    cache ??= new Map(
      allStmt.all().map((r) => [
        r.name,
        {
          name: r.name,
          rule: r.rule === null ? undefined : compileRule(JSON.parse(r.rule) as NonNullable<Cohort['rule']>),
          hasMembers: r.members > 0,
          members: r.members > 0 && r.members <= MEMBERS_IN_MEMORY ? new Set(allMembers.all(r.name) as unknown as string[]) : undefined,
        },
      ]),
    );
    return cache;
  };

  return {
    exists: (name: string): boolean => name === ALL_COHORT || load().has(name),
    cached: (name: string): CachedCohort | undefined => load().get(name),
    get(name: string): CohortView | undefined {
      if (name === ALL_COHORT) return ALL_VIEW;
      const row = getStmt.get(name);
      return row && toView(row);
    },
    list: (): CohortView[] => [ALL_VIEW, ...allStmt.all().map(toView)],
    insert(c: Cohort & { members?: string[] }, at: string): void {
      insertStmt.run(c.name, c.description ?? null, c.rule ? JSON.stringify(c.rule) : null, at, at);
      addMembers(c.name, c.members ?? []);
      cache = undefined;
    },
    replaceMembers(name: string, members: readonly string[], at: string): void {
      clearMembers.run(name);
      addMembers(name, members);
      touchStmt.run(at, name);
      cache = undefined;
    },
    /** Explicit memberships of one device (one indexed read). */
    cohortsOf: (deviceId: string): string[] => cohortsOfDevice.all(deviceId) as unknown as string[],
    members: (name: string, after: string, limit: number): string[] => membersPage.all(name, after, limit) as unknown as string[],
  };
}
