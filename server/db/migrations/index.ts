import type Database from 'better-sqlite3';
import { foundation } from './001-foundation.js';
import { fleet } from './002-fleet.js';
import { statusIndexes } from './003-status-indexes.js';
import { dashboard } from './004-dashboard.js';
import { rolloutHaltRecord } from './005-rollout-halt-record.js';
import { trustBinding } from './006-trust-binding.js';
import { tokenLastUsed } from './007-token-last-used.js';
import { transparencyLog } from './008-transparency-log.js';
import { logCosignatures } from './009-log-cosignatures.js';
import { settingCounterSeparator } from './010-setting-counter-separator.js';
import { deviceAdmissionMender } from './011-device-admission-mender.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

/** Append only: a shipped migration is never edited, a new one gets the next number. */
export const migrations: readonly Migration[] = [foundation, fleet, statusIndexes, dashboard, rolloutHaltRecord, trustBinding, tokenLastUsed, transparencyLog, logCosignatures, settingCounterSeparator, deviceAdmissionMender];

export class SchemaTooNewError extends Error {}

/**
 * Applies every migration above the database's `user_version`, each in its
 * own transaction together with the version bump, so a crash leaves the
 * database at a whole version. Refuses a database written by newer code.
 */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = list.length ? (list[list.length - 1] as Migration).version : 0;
  if (current > latest) {
    throw new SchemaTooNewError(`database schema v${current} is newer than this server (v${latest}); refusing to open it`);
  }
  for (const m of list) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}
