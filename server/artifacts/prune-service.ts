import type { AuditStore } from '../audit/audit-store.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { Sql } from '../db/sql.js';
import { envelopeOf, type ReleaseStore } from '../releases/release-store.js';
import { toTimestamp } from '../protocol/trust/time.js';
import type { ArtifactStore } from './artifact-store.js';

export interface PruneDeps {
  sql: Sql;
  artifacts: Pick<ArtifactStore, 'page' | 'remove' | 'removeFile'>;
  releases: Pick<ReleaseStore, 'page'>;
  audit: Pick<AuditStore, 'append'>;
  now: () => Date;
}

export interface PruneResult {
  dryRun: boolean;
  /** The artifacts no published release references (removed unless dryRun). */
  artifacts: { sha256: string; size: number; uploadedAt: string; uploadedBy: string }[];
  bytes: number;
}

const PAGE = 500;

/**
 * Artifacts nobody references: uploaded, older than `minAgeSeconds`, and
 * named by no published release's manifest (withdrawn releases included:
 * their record keeps its bytes). Decided and deleted in one transaction
 * under the history lock that publishing takes (protocol §9), so a release
 * published meanwhile either sees its artifact or is refused for want of it;
 * the files go after the commit (a crash in between leaves only orphan
 * files, never a row without its bytes).
 */
export async function pruneArtifacts(opts: { dryRun: boolean; minAgeSeconds: number }, actor: string, deps: PruneDeps): Promise<PruneResult> {
  const now = deps.now();
  const cutoff = toTimestamp(new Date(now.getTime() - opts.minAgeSeconds * 1000));
  const work = async (): Promise<PruneResult> => {
    if (!opts.dryRun) await holdUntilCommit(deps.sql, ADVISORY_LOCK.history);
    const referenced = new Set<string>();
    for (let page = await deps.releases.page('', PAGE); page.length; page = page.length < PAGE ? [] : await deps.releases.page(page[page.length - 1]?.id ?? '', PAGE)) {
      for (const r of page) {
        const sha = envelopeOf(r).signed.artifact?.sha256;
        if (sha) referenced.add(sha);
      }
    }
    const found: PruneResult['artifacts'] = [];
    for (let page = await deps.artifacts.page('', PAGE); page.length; page = page.length < PAGE ? [] : await deps.artifacts.page(page[page.length - 1]?.sha256 ?? '', PAGE)) {
      for (const a of page) if (!referenced.has(a.sha256) && a.uploadedAt <= cutoff) found.push(a);
    }
    const bytes = found.reduce((n, a) => n + Number(a.size), 0);
    if (!opts.dryRun && found.length) {
      for (const a of found) await deps.artifacts.remove(a.sha256);
      await deps.audit.append({ actor, action: 'artifact.prune', subject: 'artifacts', details: { removed: found.map((a) => a.sha256), bytes } }, toTimestamp(now));
    }
    return { dryRun: opts.dryRun, artifacts: found, bytes };
  };
  const result = opts.dryRun ? await work() : await deps.sql.transaction(work);
  if (!opts.dryRun) for (const a of result.artifacts) deps.artifacts.removeFile(a.sha256);
  return result;
}
