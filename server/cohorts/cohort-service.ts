import type { AuditStore } from '../audit/audit-store.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import { ALL_COHORT, type Cohort } from './cohort.js';
import type { CohortStore } from './cohort-store.js';

export type CohortService = ReturnType<typeof createCohortService>;

/**
 * Operators' changes to cohorts (protocol §4), each in one transaction with
 * its audit entry and its change-feed message, under the history lock so two
 * nodes never both create one name. The in-memory view is refreshed after.
 */
export function createCohortService(deps: {
  sql: Sql;
  cohorts: Pick<CohortStore, 'get' | 'insert' | 'replaceMembers' | 'refresh'>;
  audit: Pick<AuditStore, 'append'>;
  changes: Pick<ChangeFeed, 'publish'>;
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
  };
}
