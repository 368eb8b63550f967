import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { Sql } from '../db/sql.js';
import { auditEntryHash, auditLinkHash, GENESIS_HASH, type AuditEntry } from './audit-chain.js';

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq,
  at: r.at,
  actor: r.actor,
  action: r.action,
  subject: r.subject,
  details: JSON.parse(r.details) as Record<string, unknown>,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export type AuditStore = ReturnType<typeof createAuditStore>;

/**
 * Append-only, hash-chained audit log (see audit-chain.ts for the formulas).
 * `append` must run inside the caller's transaction.
 */
export function createAuditStore(sql: Sql) {
  // The subject index is named (to SQLite, whose planner would otherwise walk seq).
  const bySubject = sql.dialect.indexedBy('audit_log_by_subject');
  const rows = async (text: string, params: (string | number)[]): Promise<AuditEntry[]> => (await sql.all<AuditRow>(text, params)).map(toEntry);
  const page = (afterSeq: number, limit: number): Promise<AuditEntry[]> => rows('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?', [afterSeq, limit]);

  return {
    async append(input: AuditInput, at: string): Promise<AuditEntry> {
      // protocol §9: one linear chain across nodes — appends take turns from reading the head to commit.
      await holdUntilCommit(sql, ADVISORY_LOCK.history);
      // prevHash links to the previous entry exactly as GET /v1/audit serves it (hash included).
      const lastRow = await sql.one<AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
      const last = lastRow ? toEntry(lastRow) : undefined;
      const base = {
        seq: (last?.seq ?? 0) + 1,
        at,
        actor: input.actor,
        action: input.action,
        subject: input.subject,
        // Hash what is stored and served: the details after their JSON round trip.
        details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
        prevHash: last ? auditLinkHash(last) : GENESIS_HASH,
      };
      const entry: AuditEntry = { ...base, hash: auditEntryHash(base) };
      await sql.run('INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [entry.seq, entry.at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details), entry.prevHash, entry.hash]);
      return entry;
    },
    /** Entries after `afterSeq`, oldest first. */
    page,
    /**
     * One page in either direction, optionally about one subject: oldest first
     * after `cursorSeq`, or newest first before it (no cursor: from the newest).
     */
    query(q: { order: 'asc' | 'desc'; cursorSeq: number | undefined; limit: number; subject?: string | undefined }): Promise<AuditEntry[]> {
      if (q.order === 'asc') {
        return q.subject === undefined ? page(q.cursorSeq ?? 0, q.limit)
          : rows(`SELECT * FROM audit_log ${bySubject}WHERE subject = ? AND seq > ? ORDER BY seq LIMIT ?`, [q.subject, q.cursorSeq ?? 0, q.limit]);
      }
      const before = q.cursorSeq ?? Number.MAX_SAFE_INTEGER;
      return q.subject === undefined ? rows('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?', [before, q.limit])
        : rows(`SELECT * FROM audit_log ${bySubject}WHERE subject = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, [q.subject, before, q.limit]);
    },
  };
}
