import type { Sql } from '../db/sql.js';

/** What /healthz asks the database (protocol §7): does it answer at all. */
export function createHealthStore(sql: Pick<Sql, 'value'>) {
  return {
    async databaseAnswers(): Promise<boolean> {
      try {
        await sql.value('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
  };
}

export type HealthStore = ReturnType<typeof createHealthStore>;
