import type { Db } from '../db/open.js';
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
export function createAuditStore(db: Db) {
  const lastStmt = db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
  const insertStmt = db.prepare(
    'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const pageStmt = db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');
  const descStmt = db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?');
  const subjectStmt = db.prepare<[string, number, number], AuditRow>(
    'SELECT * FROM audit_log INDEXED BY audit_log_by_subject WHERE subject = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const subjectDescStmt = db.prepare<[string, number, number], AuditRow>(
    'SELECT * FROM audit_log INDEXED BY audit_log_by_subject WHERE subject = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
  );

  return {
    append(input: AuditInput, at: string): AuditEntry {
      // prevHash links to the previous entry exactly as GET /v1/audit serves it (hash included).
      const lastRow = lastStmt.get();
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
      insertStmt.run(entry.seq, entry.at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details), entry.prevHash, entry.hash);
      return entry;
    },
    /** Entries after `afterSeq`, oldest first. */
    page(afterSeq: number, limit: number): AuditEntry[] {
      return pageStmt.all(afterSeq, limit).map(toEntry);
    },
    /**
     * One page in either direction, optionally about one subject: oldest first
     * after `cursorSeq`, or newest first before it (no cursor: from the newest).
     */
    query(q: { order: 'asc' | 'desc'; cursorSeq: number | undefined; limit: number; subject?: string | undefined }): AuditEntry[] {
      const rows =
        q.order === 'asc'
          ? q.subject === undefined ? pageStmt.all(q.cursorSeq ?? 0, q.limit) : subjectStmt.all(q.subject, q.cursorSeq ?? 0, q.limit)
          : q.subject === undefined ? descStmt.all(q.cursorSeq ?? Number.MAX_SAFE_INTEGER, q.limit)
          : subjectDescStmt.all(q.subject, q.cursorSeq ?? Number.MAX_SAFE_INTEGER, q.limit);
      return rows.map(toEntry);
    },
  };
}
