import type { Sql } from '../../server/db/sql.js';

/** The application's tables on either engine (SQLite's own and PostgreSQL's bookkeeping left out). */
export async function userTables(sql: Sql): Promise<string[]> {
  const rows = sql.engine === 'sqlite'
    ? await sql.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    : await sql.all<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name",
    );
  return rows.map((r) => r.name);
}

/**
 * Something that changes whenever any row is written: SQLite's own count of
 * changed rows; on PostgreSQL a digest of every table's content (statistics
 * counters there are flushed lazily, so they cannot say "nothing changed").
 */
export async function writeFingerprint(sql: Sql): Promise<string> {
  if (sql.engine === 'sqlite') return String(await sql.value<number>('SELECT total_changes()'));
  const parts: string[] = [];
  for (const t of await userTables(sql)) {
    parts.push(`${t}:${(await sql.value<string>(`SELECT md5(COALESCE(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) FROM "${t}" x`)) ?? ''}`);
  }
  return parts.join(',');
}

/** Makes every INSERT into `table` fail with `message` (a full disk, a broken write), on either engine. */
export async function refuseInserts(sql: Sql, table: string, message: string): Promise<void> {
  if (sql.engine === 'sqlite') {
    await sql.exec(`CREATE TRIGGER refuse_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, '${message}'); END;`);
    return;
  }
  await sql.exec(`CREATE FUNCTION refuse_${table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$;
    CREATE TRIGGER refuse_${table} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_${table}();`);
}

/** Undoes refuseInserts. */
export async function allowInserts(sql: Sql, table: string): Promise<void> {
  if (sql.engine === 'sqlite') await sql.exec(`DROP TRIGGER refuse_${table}`);
  else await sql.exec(`DROP TRIGGER refuse_${table} ON ${table}; DROP FUNCTION refuse_${table}();`);
}

/** Rewrites one audit row's details behind the server's back (tamper tests). */
export async function tamperAuditDetails(sql: Sql, seq: number, edit: (details: Record<string, unknown>) => void): Promise<void> {
  const text = await sql.value<string>('SELECT details FROM audit_log WHERE seq = ?', [seq]);
  const details = JSON.parse(text ?? '{}') as Record<string, unknown>;
  edit(details);
  await sql.run('UPDATE audit_log SET details = ? WHERE seq = ?', [JSON.stringify(details), seq]);
}
