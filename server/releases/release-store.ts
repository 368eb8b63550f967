import type { Sql } from '../db/sql.js';
import type { ReleaseEnvelope } from '../protocol/release-manifest.js';

export interface StoredRelease {
  id: string;
  manifestSha256: string;
  /** The envelope exactly as published, serialised once. */
  envelopeJson: string;
  issuedAt: string;
  publishedAt: string;
  publishedBy: string;
  /** protocol §7: the signed withdrawal statement, serialised as logged; null while the release may be offered. */
  withdrawalJson?: string | null;
}

interface ReleaseRow {
  id: string;
  manifest_sha256: string;
  envelope: string;
  issued_at: string;
  published_at: string;
  published_by: string;
  withdrawal?: string | null;
}

const toStored = (r: ReleaseRow): StoredRelease => ({
  id: r.id,
  manifestSha256: r.manifest_sha256,
  envelopeJson: r.envelope,
  issuedAt: r.issued_at,
  publishedAt: r.published_at,
  publishedBy: r.published_by,
  withdrawalJson: r.withdrawal ?? null,
});

export const envelopeOf = (r: StoredRelease): ReleaseEnvelope => JSON.parse(r.envelopeJson) as ReleaseEnvelope;

export type ReleaseStore = ReturnType<typeof createReleaseStore>;

export function createReleaseStore(sql: Sql) {
  return {
    async insert(r: StoredRelease): Promise<void> {
      await sql.run('INSERT INTO releases (id, manifest_sha256, envelope, issued_at, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?)',
        [r.id, r.manifestSha256, r.envelopeJson, r.issuedAt, r.publishedAt, r.publishedBy]);
    },
    async get(id: string): Promise<StoredRelease | undefined> {
      const row = await sql.one<ReleaseRow>('SELECT * FROM releases WHERE id = ?', [id]);
      return row && toStored(row);
    },
    /** Call inside the transaction that logs the statement (protocol §8). */
    async setWithdrawal(id: string, withdrawalJson: string): Promise<void> {
      await sql.run('UPDATE releases SET withdrawal = ? WHERE id = ? AND withdrawal IS NULL', [withdrawalJson, id]);
    },
    async page(afterId: string, limit: number): Promise<StoredRelease[]> {
      return (await sql.all<ReleaseRow>('SELECT * FROM releases WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit])).map(toStored);
    },
  };
}
