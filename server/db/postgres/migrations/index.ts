import type { PostgresMigration } from '../migrate.js';
import { m001 } from './001-foundation.js';
import { m002 } from './002-fleet.js';
import { m003 } from './003-status-indexes.js';
import { m004 } from './004-dashboard.js';
import { m005 } from './005-rollout-halt-record.js';
import { m006 } from './006-trust-binding.js';
import { m007 } from './007-token-last-used.js';
import { m008 } from './008-transparency-log.js';
import { m009 } from './009-log-cosignatures.js';
import { m010 } from './010-change-feed.js';
import { m011 } from './011-device-admission-mender.js';

/** Append only, numbered like server/db/migrations (design §3): a shipped migration is never edited. */
export const postgresMigrations: readonly PostgresMigration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011];
