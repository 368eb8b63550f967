import type { Sql } from '../db/sql.js';
import { envelopeOf, type ReleaseStore, type StoredRelease } from '../releases/release-store.js';
import type { RolloutStore } from '../rollouts/rollout-store.js';
import type { TrustSnapshot } from '../trust/trust-state.js';
import { ADVISORY_LOCK, holdUntilCommit } from '../cluster/advisory-locks.js';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { TransparencyLog } from './transparency-log.js';

export interface StartupLogDeps {
  sql: Sql;
  log: TransparencyLog;
  releases: ReleaseStore;
  rollouts: RolloutStore;
  changes?: Pick<ChangeFeed, 'publish'>;
}

/**
 * protocol §8, at start-up, in one transaction: every root version and the
 * settings policy the server now serves (roots and policies are accepted
 * when the server reads its trust folder; appending is idempotent, so a
 * restart logs only what is new). A database that predates the log also
 * gets its published releases (in publishing order) and current statements,
 * so every offer the server makes can carry its proofs.
 */
export async function logAtStartup(trust: TrustSnapshot, at: string, deps: StartupLogDeps): Promise<void> {
  await deps.log.refresh();
  await deps.sql.transaction(async () => {
    // protocol §9: nodes starting together take turns; each sees what the one before it logged.
    await holdUntilCommit(deps.sql, ADVISORY_LOCK.history);
    await deps.log.refresh();
    const before = deps.log.size();
    const backfill = before === 0;
    let last = -1;
    for (const root of trust.roots) last = Math.max(last, await deps.log.append(root, at));
    last = Math.max(last, await deps.log.append(trust.policy, at));
    if (!backfill) {
      if (last >= before) await deps.changes?.publish('log');
      return;
    }
    const releases: StoredRelease[] = [];
    for (let page = await deps.releases.page('', 500); page.length; page = await deps.releases.page((page.at(-1) as StoredRelease).id, 500)) releases.push(...page);
    releases.sort((a, b) => (a.publishedAt < b.publishedAt ? -1 : a.publishedAt > b.publishedAt ? 1 : a.id < b.id ? -1 : 1));
    for (const r of releases) await deps.log.append(envelopeOf(r), at);
    for (const rollout of await deps.rollouts.started()) {
      for (const s of await deps.rollouts.statements(rollout.id)) await deps.log.append(JSON.parse(s.envelopeJson), at);
    }
    await deps.changes?.publish('log');
  });
  await deps.log.refresh();
}
