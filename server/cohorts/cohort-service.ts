import type { AuditStore } from '../audit/audit-store.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import { ALL_COHORT, type Cohort } from './cohort.js';
import type { CohortStore } from './cohort-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';

export type CohortService = ReturnType<typeof createCohortService>;

/**
 * Operators' changes to cohorts (protocol §4), each in one transaction with
 * its audit entry and its change-feed message, under the history lock so two
 * nodes never both create one name. The in-memory view is refreshed after.
 */
export function createCohortService(deps: {
  sql: Sql;
  cohorts: Pick<CohortStore, 'get' | 'insert' | 'replaceMembers' | 'refresh' | 'update' | 'remove'>;
  audit: Pick<AuditStore, 'append'>;
  changes: Pick<ChangeFeed, 'publish'>;
  /** The rollouts that are not completed or cancelled and name a cohort in a stage (protocol §7 delete). */
  rollouts: Pick<RolloutStore, 'namingCohort'>;
  /** Eligibility follows a rule: the census recounts who the rollouts reach (coalesced). */
  recount: () => void;
}) {
  const { sql, cohorts } = deps;
  return {
    async create(body: Cohort & { members?: string[] }, actor: string, at: string): Promise<void> {
      await sql.transaction(async () => {
        // Checked in the transaction that inserts: two creations of one name never both pass, on any node.
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        if (body.name === ALL_COHORT || (await cohorts.get(body.name))) throw new AppError('conflict', `cohort ${body.name} already exists`);
        await cohorts.insert(body, at);
        await deps.audit.append({ actor, action: 'cohort.create', subject: body.name, details: { rule: body.rule ?? null, members: body.members?.length ?? 0 } }, at);
        await deps.changes.publish('cohort', body.name);
      });
      await cohorts.refresh();
    },
    async replaceMembers(name: string, members: readonly string[], actor: string, at: string): Promise<void> {
      await sql.transaction(async () => {
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        if (!(await cohorts.get(name))) throw new AppError('not_found', `no cohort ${name}`);
        await cohorts.replaceMembers(name, members, at);
        await deps.audit.append({ actor, action: 'cohort.members', subject: name, details: { members: members.length } }, at);
        await deps.changes.publish('cohort', name);
      });
      await cohorts.refresh();
    },
    /** protocol §7 fleet lifecycle: edit a cohort's description or rule (a field given replaces, null removes). */
    async update(name: string, body: { description?: string | null; rule?: Cohort['rule'] | null }, actor: string, at: string): Promise<void> {
      await sql.transaction(async () => {
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        const before = await cohorts.get(name);
        if (!before) throw new AppError('not_found', `no cohort ${name}`);
        const after = {
          description: body.description === undefined ? before.description : (body.description ?? undefined),
          rule: body.rule === undefined ? before.rule : (body.rule ?? undefined),
        };
        await cohorts.update(name, after, at);
        await deps.audit.append({ actor, action: 'cohort.update', subject: name, details: { before: { description: before.description ?? null, rule: before.rule ?? null }, after: { description: after.description ?? null, rule: after.rule ?? null } } }, at);
        await deps.changes.publish('cohort', name);
      });
      await cohorts.refresh();
      deps.recount();
    },
    /** protocol §7: refused (409) while a rollout that is not completed or cancelled names the cohort. */
    async remove(name: string, actor: string, at: string): Promise<void> {
      await sql.transaction(async () => {
        await holdUntilCommit(sql, ADVISORY_LOCK.history);
        const found = await cohorts.get(name);
        if (!found) throw new AppError('not_found', `no cohort ${name}`);
        const users = await deps.rollouts.namingCohort(name);
        if (users.length) {
          throw new AppError('conflict', `cohort ${name} is used by rollout${users.length === 1 ? '' : 's'} ${users.join(', ')}: complete or cancel ${users.length === 1 ? 'it' : 'them'} first`,
            { details: users.map((id) => ({ path: `/v1/rollouts/${id}`, message: `rollout ${id} names cohort ${name} in a stage` })) });
        }
        await cohorts.remove(name);
        await deps.audit.append({ actor, action: 'cohort.delete', subject: name, details: { description: found.description ?? null, rule: found.rule ?? null, members: found.memberCount } }, at);
        await deps.changes.publish('cohort', name);
      });
      await cohorts.refresh();
    },
  };
}
