import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import { createContext } from '../server/context.js';
import { signEnvelope } from '../server/protocol/crypto/envelope.js';
import { readKeyFile } from '../server/protocol/crypto/key-files.js';
import { ed25519Signer } from '../server/protocol/crypto/signer.js';
import { connectDatabase } from '../server/db/connect.js';
import { openDatabase, type Db } from '../server/db/open.js';
import type { Sql, SqlValue } from '../server/db/sql.js';
import { sqliteSql } from '../server/db/sqlite-sql.js';
import { deviceTokenHash } from '../server/devices/device-token.js';
import { publishRelease } from '../server/releases/publish-service.js';
import type { ReleaseSigned } from '../server/protocol/release-manifest.js';
import { counterKey } from '../server/rollouts/rollout-counters.js';
import { ensureDevTrust } from '../server/trust/dev-trust.js';
import { loadTrustFolder } from '../server/trust/trust-folder.js';
import { createTrustState } from '../server/trust/trust-state.js';
import { toTimestamp } from '../server/protocol/trust/time.js';

/** Deterministic ids and tokens, so the load generator needs no list of them. */
export const deviceIdOf = (i: number): string => `bench-${String(i).padStart(8, '0')}`;
export const deviceTokenOf = (i: number): string => `dev_${createHash('sha256').update(`bench:${i}`).digest('base64url')}`;
/** Four devices in five are the model the rollouts target; the rest are offered nothing. */
export const isTargetModel = (i: number): boolean => i % 5 !== 0;
/** Mender devices (protocol §12), a fleet of their own beside the native one: ids and gateway tokens. */
export const menderDeviceIdOf = (i: number): string => `bench-mender-${String(i).padStart(8, '0')}`;
export const menderTokenOf = (i: number): string => `mdr_${createHash('sha256').update(`bench-mender:${i}`).digest('base64url')}`;

export interface SeedResult {
  dataDir: string;
  trustDir: string;
  devices: number;
  reports: number;
  rolloutIds: string[];
  /** Each rollout's salt, so scenarios can pick devices the rollout really offers to. */
  salts: Record<string, string>;
  /** Milliseconds spent seeding devices and reports. */
  seedMs: number;
  dbBytesDevices: number;
  dbBytesReports: number;
  tokens: { admin: string; enroller: string; qa: string };
  /** Mender devices seeded (model acc-board on 1.0.0, each offered bench-mender-2.0.0). */
  menderDevices: number;
}

/** Rows per PostgreSQL bulk statement (one array parameter per column). */
const PG_BATCH = 10_000;
/** One column of some rows, as the array parameter unnest() takes (node-postgres encodes JS arrays as PG arrays). */
const columnOf = (rows: readonly (readonly unknown[])[], c: number): SqlValue => rows.map((r) => r[c]) as unknown as SqlValue;

const SEEDED_REPORT_STATES = ['received', 'downloading', 'downloaded', 'installing', 'applied'] as const;

function release(id: string, over: Partial<ReleaseSigned>, at: string): ReleaseSigned {
  return { type: 'release', id, models: ['redmi-1s'], appliesTo: '>=1.4.0 <1.4.3', settings: [], mandatory: false, downgrade: false, issuedAt: at, ...over };
}

/** Bytes on disk of some PostgreSQL tables with their indexes and TOAST (what the rows cost, as on SQLite). */
async function pgBytes(sql: Sql, tables: string[]): Promise<number> {
  await sql.exec('CHECKPOINT');
  let n = 0;
  for (const t of tables) n += (await sql.value<number>('SELECT pg_total_relation_size(?::regclass)::bigint', [t])) ?? 0;
  return n;
}

function dbBytes(db: Db): number {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = db.pragma('page_count', { simple: true }) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * size;
}

/**
 * A realistic fleet state on a fresh data folder: three running rollouts
 * (one of them at 100 %, one at 50 %, one offering nothing), a QA cohort,
 * N devices and a report history of `reportsPerDevice` (default 5) for each. Releases, cohorts and rollouts go through the real services;
 * devices and reports are bulk-loaded with the same SQL shapes, straight
 * through better-sqlite3 on the connection the stores use (nothing else
 * runs while the seed does).
 */
export async function seed(dataDir: string, devices: number, opts: { reportsPerDevice?: number; databaseUrl?: string } = {}): Promise<SeedResult> {
  const dev = ensureDevTrust(dataDir);
  const config = loadConfig({}, { dataDir, trustDir: dev.trustDir, logLevel: 'silent', demo: false, databaseUrl: opts.databaseUrl });
  // SQLite: bulk rows straight through better-sqlite3; PostgreSQL: through the Sql layer connectDatabase
  // opens (migrated as the server would), in unnest() batches of 10,000 rows per statement.
  const db = opts.databaseUrl ? undefined : openDatabase(join(dataDir, 'ota.db'));
  const sql = db ? sqliteSql(db) : await connectDatabase({ url: opts.databaseUrl, file: join(dataDir, 'ota.db'), statementTimeoutMs: 0 });
  const ctx = await createContext({ config, sql, trust: createTrustState(loadTrustFolder(dev.trustDir)), logger: pino({ level: 'silent' }) });
  const at = toTimestamp(new Date());
  const actor = 'system:bench';
  const releaseKey = readKeyFile(join(dev.keysDir, 'release.key.json')).private;
  if (!releaseKey) throw new Error('no dev release key');
  const signer = ed25519Signer(releaseKey);

  const image = Buffer.alloc(256 * 1024, 'bench image\n');
  const art = await ctx.artifacts.put(Readable.from([image]), config.maxArtifactBytes, actor, at);
  const releases = [
    release('bench-system-1.4.3', { version: '1.4.3', artifact: { sha256: art.sha256, size: art.size }, settings: [{ key: 'cloud.messaging.enabled', value: false, mode: 'default' }] }, at),
    release('bench-settings-optin', { appliesTo: '>=1.0.0', settings: [{ key: 'cloud.backup.enabled', value: false, mode: 'reset' }] }, at),
    release('bench-redmi-2-3.0.0', { models: ['redmi-2'], appliesTo: '>=2.5.0', version: '3.0.0', artifact: { sha256: art.sha256, size: art.size } }, at),
  ];
  for (const r of releases) await publishRelease(signEnvelope({ signed: r }, [signer]), actor, ctx);
  // A .mender release for the Mender fleet (its header recorded as an upload would record it).
  const menderImage = Buffer.alloc(256 * 1024, 'bench mender image\n');
  const menderArt = await ctx.artifacts.put(Readable.from([menderImage]), config.maxArtifactBytes, actor, at);
  await ctx.menderHeaders.record(menderArt.sha256, { artifactName: '2.0.0', deviceTypes: ['acc-board'], formatVersion: 3 });
  const menderRelease = release('bench-mender-2.0.0', { models: ['acc-board'], appliesTo: '<2.0.0', version: '2.0.0', artifact: { sha256: menderArt.sha256, size: menderArt.size } }, at);
  await publishRelease(signEnvelope({ signed: menderRelease }, [signer]), actor, ctx);

  const started = Date.now();
  const now = Date.now();
  const perDevice = opts.reportsPerDevice ?? SEEDED_REPORT_STATES.length;
  const deviceRow = (i: number) => {
    const target = isTargetModel(i);
    return [deviceIdOf(i), deviceTokenHash(deviceTokenOf(i)), target ? 'redmi-1s' : 'redmi-2', target ? '1.4.1' : '2.0.0', `{"region":"${i % 2 ? 'eu' : 'us'}"}`, now, now] as const;
  };
  let dbBytesDevicesOnly: number;
  if (db) {
    const insertDevice = db.prepare('INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (let from = 0; from < devices; from += 50_000) {
      db.transaction(() => {
        for (let i = from; i < Math.min(devices, from + 50_000); i++) insertDevice.run(...deviceRow(i));
      })();
    }
    dbBytesDevicesOnly = dbBytes(db);
  } else {
    // last_seq is the seeded history's last seq from the start (set with the history on SQLite: same end state).
    for (let from = 0; from < devices; from += PG_BATCH) {
      const rows = Array.from({ length: Math.min(devices, from + PG_BATCH) - from }, (_, k) => deviceRow(from + k));
      await sql.transaction(() =>
        sql.run(
          `INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq)
           SELECT t.*, ?::bigint FROM unnest(?::text[], ?::bytea[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS t`,
          [perDevice, ...[0, 1, 2, 3, 4, 5, 6].map((c) => columnOf(rows, c))],
        ),
      );
    }
    dbBytesDevicesOnly = await pgBytes(sql, ['devices']);
  }

  await ctx.sql.transaction(() => ctx.cohorts.insert({ name: 'qa', members: Array.from({ length: Math.min(100, devices) }, (_, i) => deviceIdOf(i)) }, at));
  await ctx.cohorts.refresh();
  const policy = { maxFailureBasisPoints: 5000, minTerminalReports: 1_000_000_000, reportTimeoutSeconds: 30 * 24 * 3600 };
  const plans = [
    { id: 'bench-system', releaseId: releases[0]!.id, stages: [{ cohort: 'qa', basisPoints: 10000 }, { cohort: 'all', basisPoints: 1000 }, { cohort: 'all', basisPoints: 10000 }], advances: 2 },
    { id: 'bench-settings', releaseId: releases[1]!.id, stages: [{ cohort: 'all', basisPoints: 5000 }], advances: 0 },
    { id: 'bench-redmi-2', releaseId: releases[2]!.id, stages: [{ cohort: 'all', basisPoints: 10000 }], advances: 0 },
    { id: 'bench-mender', releaseId: menderRelease.id, stages: [{ cohort: 'all', basisPoints: 10000 }], advances: 0 },
  ];
  const salts: Record<string, string> = {};
  for (const p of plans) {
    salts[p.id] = (await ctx.rolloutService.create({ id: p.id, releaseId: p.releaseId, stages: p.stages, failurePolicy: policy }, actor)).salt;
    await ctx.rolloutService.act(p.id, 'start', actor);
    for (let a = 0; a < p.advances; a++) await ctx.rolloutService.act(p.id, 'advance', actor);
  }

  // Report history: every device went received → applied, the targeted
  // model in the system rollout (stage 2), the others in the redmi-2 one.
  let reports = 0;
  const reported = { target: 0, other: 0 };
  const settingsJson = '{"cloud.messaging.enabled":{"source":"default","value":false}}';
  const historyOf = (i: number) => {
    const target = isTargetModel(i);
    const [rolloutId, releaseId, stage] = target ? ['bench-system', 'bench-system-1.4.3', 2] : ['bench-redmi-2', 'bench-redmi-2-3.0.0', 0];
    const id = deviceIdOf(i);
    const rows = [];
    for (let seq = 1; seq <= perDevice; seq++) {
      const state = SEEDED_REPORT_STATES[Math.min(seq - 1, SEEDED_REPORT_STATES.length - 1)] as string;
      const body = `{"at":"${at}","releaseId":"${releaseId}","rolloutId":"${rolloutId}","seq":${seq},"state":"${state}"}`;
      rows.push([id, seq, rolloutId, releaseId, state, at, body, now] as const);
    }
    reports += perDevice;
    reported[target ? 'target' : 'other']++;
    return { reports: rows, rd: [rolloutId, id, stage, now, 'applied', now, target ? settingsJson : null] as const };
  };
  let before: number;
  if (db) {
    const insertReport = db.prepare('INSERT INTO reports (device_id, seq, rollout_id, release_id, state, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const insertRd = db.prepare('INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at, state, state_at, settings) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const setSeq = db.prepare('UPDATE devices SET last_seq = ? WHERE id = ?');
    before = dbBytes(db);
    for (let from = 0; from < devices; from += 20_000) {
      db.transaction(() => {
        for (let i = from; i < Math.min(devices, from + 20_000); i++) {
          const h = historyOf(i);
          for (const r of h.reports) insertReport.run(...r);
          insertRd.run(...h.rd);
          setSeq.run(perDevice, deviceIdOf(i));
        }
      })();
    }
  } else {
    before = await pgBytes(sql, ['reports', 'rollout_devices']);
    const per = Math.max(1, Math.floor(PG_BATCH / Math.max(1, perDevice)));
    for (let from = 0; from < devices; from += per) {
      const hs = Array.from({ length: Math.min(devices, from + per) - from }, (_, k) => historyOf(from + k));
      const rs = hs.flatMap((h) => h.reports);
      const rds = hs.map((h) => h.rd);
      await sql.transaction(async () => {
        await sql.run(
          `INSERT INTO reports (device_id, seq, rollout_id, release_id, state, at, body, received_at)
           SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])`,
          [0, 1, 2, 3, 4, 5, 6, 7].map((c) => columnOf(rs, c)),
        );
        await sql.run(
          `INSERT INTO rollout_devices (rollout_id, device_id, stage, offered_at, state, state_at, settings)
           SELECT * FROM unnest(?::text[], ?::text[], ?::int[], ?::bigint[], ?::text[], ?::bigint[], ?::text[])`,
          [0, 1, 2, 3, 4, 5, 6].map((c) => columnOf(rds, c)),
        );
      });
    }
  }
  await ctx.sql.transaction(async () => {
    for (const [rolloutId, n, stage] of [['bench-system', reported.target, 2], ['bench-redmi-2', reported.other, 0]] as const) {
      await ctx.counters.add(rolloutId, counterKey.state('applied'), n);
      await ctx.counters.add(rolloutId, counterKey.offered, n);
      await ctx.counters.add(rolloutId, counterKey.offeredAt(stage), n);
      await ctx.counters.add(rolloutId, counterKey.reportedAt(stage), n);
    }
    await ctx.counters.add('bench-system', counterKey.setting('cloud.messaging.enabled', false, 'default'), reported.target);
  });
  const after = db ? dbBytes(db) : await pgBytes(sql, ['reports', 'rollout_devices']);
  // The Mender fleet: a fifth of the native one, admitted, with a gateway token each (no history: every poll is offered).
  const menderDevices = Math.max(1, Math.floor(devices / 5));
  await ctx.sql.transaction(async () => {
    for (let i = 0; i < menderDevices; i++) {
      await sql.run('INSERT INTO devices (id, token_hash, model, version, attributes, enrolled_at, last_seen, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, -1)',
        [menderDeviceIdOf(i), deviceTokenHash(`dev_unused_${i}`), 'acc-board', '1.0.0', '{"device_type":"acc-board"}', now, now]);
      await sql.run('INSERT INTO mender_tokens (token_hash, device_id, issued_at, expires_at) VALUES (?, ?, ?, NULL)', [deviceTokenHash(menderTokenOf(i)), menderDeviceIdOf(i), now]);
    }
  });
  const seedMs = Date.now() - started;

  const tokens = {
    admin: (await ctx.operatorTokens.create('admin', 'bench-admin', at)).token,
    enroller: (await ctx.operatorTokens.create('enroller', 'bench-enroller', at)).token,
    qa: (await ctx.operatorTokens.create('qa', 'bench-qa', at)).token,
  };
  await ctx.stop();
  await sql.close();
  return {
    dataDir,
    trustDir: dev.trustDir,
    devices,
    reports,
    rolloutIds: plans.map((p) => p.id),
    salts,
    seedMs,
    dbBytesDevices: dbBytesDevicesOnly,
    dbBytesReports: after - before,
    tokens,
    menderDevices,
  };
}
