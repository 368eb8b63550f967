import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, migrations, SchemaTooNewError, type Migration } from '../../server/db/migrations/index.js';
import { openDatabase } from '../../server/db/open.js';
import { tempDir } from '../helpers/fixtures.js';

const latest = (migrations[migrations.length - 1] as Migration).version;
const userVersion = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number;
const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe('migrations', () => {
  it('are numbered 1, 2, 3... in order, each with a unique name and a form for each engine', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_m, i) => i + 1));
    expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
    for (const m of migrations) {
      expect(typeof m.sqlite === 'function' || typeof m.sqlite === 'string', m.name).toBe(true);
      expect(typeof m.postgres, m.name).toBe('string');
    }
  });

  it('migrate() on a fresh database applies all of them and sets user_version', () => {
    const db = new Database(':memory:');
    expect(userVersion(db)).toBe(0);
    expect(migrate(db)).toBe(latest);
    expect(userVersion(db)).toBe(latest);
    expect(tables(db)).toEqual(expect.arrayContaining(['artifacts', 'audit_log', 'operator_tokens', 'releases']));
  });

  it('is idempotent: a second run changes nothing', () => {
    const db = new Database(':memory:');
    migrate(db);
    const before = tables(db);
    expect(() => migrate(db)).not.toThrow();
    expect(tables(db)).toEqual(before);
    expect(userVersion(db)).toBe(latest);
  });

  it('refuses a database written by newer code (SchemaTooNewError), leaving it untouched', () => {
    const db = new Database(':memory:');
    db.pragma(`user_version = ${latest + 1}`);
    expect(() => migrate(db)).toThrow(SchemaTooNewError);
    expect(tables(db)).toEqual([]);
    expect(userVersion(db)).toBe(latest + 1);
  });

  it('openDatabase refuses a newer file too', () => {
    const file = join(tempDir(), 'ota.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${latest + 5}`);
    raw.close();
    expect(() => openDatabase(file)).toThrow(/newer than this server/);
  });

  it('a failing migration rolls back whole: no half-applied schema, user_version unchanged', () => {
    const db = new Database(':memory:');
    const broken: Migration = {
      version: latest + 1,
      name: 'broken',
      sqlite(d) {
        d.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('boom');
      },
      postgres: '',
    };
    expect(() => migrate(db, [...migrations, broken])).toThrow('boom');
    expect(userVersion(db)).toBe(latest);
    expect(tables(db)).not.toContain('half_done');
  });

  it('openDatabase sets WAL, synchronous FULL and foreign keys', () => {
    const db = openDatabase(join(tempDir(), 'ota.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(userVersion(db)).toBe(latest);
    db.close();
  });
});

describe('001-foundation', () => {
  it('refuses an operator token with an unknown role', () => {
    const db = new Database(':memory:');
    migrate(db);
    expect(() => db.prepare("INSERT INTO operator_tokens (token_hash, role, name, created_at) VALUES ('h', 'root', 'n', 't')").run()).toThrow(/CHECK/);
  });
});

describe('004-dashboard', () => {
  it('upgrades a v3 database in place: audit entries kept and found by subject, per-minute figures add up', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version <= 3));
    db.prepare("INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (1, 't', 'a', 'rollout.halt', 'r1', '{}', 'p', 'h')").run();
    migrate(db);
    expect(userVersion(db)).toBe(latest);
    const plan = db.prepare("EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE subject = 'r1' AND seq < 10 ORDER BY seq DESC").all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/audit_log_by_subject/);
    expect(db.prepare("SELECT action FROM audit_log WHERE subject = 'r1'").pluck().all()).toEqual(['rollout.halt']);
    const add = db.prepare(`INSERT INTO rollout_intervals (rollout_id, minute, terminal, failures) VALUES ('r1', 60000, ?, ?)
      ON CONFLICT (rollout_id, minute) DO UPDATE SET terminal = terminal + excluded.terminal, failures = failures + excluded.failures`);
    add.run(1, 1);
    add.run(1, 0);
    expect(db.prepare("SELECT terminal, failures FROM rollout_intervals WHERE rollout_id = 'r1'").get()).toEqual({ terminal: 2, failures: 1 });
  });

  it('rewrites v9 setting counters separated by NUL to U+001F, leaving the others and their values alone', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version <= 9));
    const add = db.prepare('INSERT INTO rollout_counters (rollout_id, key, value) VALUES (?, ?, ?)');
    add.run('r1', 'setting:messaging.cloud\u0000false\u0000policy', 7);
    add.run('r1', 'setting:messaging.cloud\u0000*\u0000user', 2);
    add.run('r1', 'state:applied', 9);
    migrate(db);
    const rows = db.prepare('SELECT key, value FROM rollout_counters ORDER BY key').all();
    expect(rows).toEqual([
      { key: 'setting:messaging.cloud\u001f*\u001fuser', value: 2 },
      { key: 'setting:messaging.cloud\u001ffalse\u001fpolicy', value: 7 },
      { key: 'state:applied', value: 9 },
    ]);
  });
});

describe('011-change-feed', () => {
  const schema = (db: Database.Database) => db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all();

  // SQLite's numbering did not change when the two engines' lists were merged: the code before it
  // wrote 1-10 exactly as the list's 1-10 (the separator was SQLite's 10), so a v10 file only moves to 11.
  it('upgrades a v10 file written before the lists were merged: nothing to build, version 11, data kept', () => {
    const file = join(tempDir(), 'ota.db');
    const old = new Database(file);
    migrate(old, migrations.filter((m) => m.version <= 10));
    old.prepare('INSERT INTO rollout_counters (rollout_id, key, value) VALUES (?, ?, ?)').run('r1', 'setting:a\u001fb\u001fpolicy', 3);
    const before = schema(old);
    old.close();
    // 11 alone builds nothing on SQLite.
    const eleven = new Database(join(tempDir(), 'ota-11.db'));
    migrate(eleven, migrations.filter((m) => m.version <= 10));
    migrate(eleven, migrations.filter((m) => m.version <= 11));
    expect(schema(eleven)).toEqual(before);
    eleven.close();
    // The whole upgrade ends where a fresh database does (later migrations, e.g. 12, do build).
    const db = openDatabase(file);
    expect(userVersion(db)).toBe(latest);
    expect(latest).toBeGreaterThanOrEqual(11);
    // Version 11 builds nothing on SQLite; the changes after it are those a fresh file gets too.
    expect(migrations.find((m) => m.version === 11)?.sqlite).toBe('');
    const fresh = new Database(':memory:');
    migrate(fresh, migrations);
    expect(schema(db)).toEqual(schema(fresh));
    fresh.close();
    expect(db.prepare('SELECT key, value FROM rollout_counters').all()).toEqual([{ key: 'setting:a\u001fb\u001fpolicy', value: 3 }]);
    db.close();
  });
});

describe('018-webhook-outbox', () => {
  it('upgrades a v17 database with an empty outbox whose delivery read (a receiver\'s oldest row) walks its index', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version <= 17));
    expect(tables(db)).not.toContain('webhook_outbox');
    migrate(db);
    expect(userVersion(db)).toBe(latest);
    expect(db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox').get()).toEqual({ n: 0 });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT seq FROM webhook_outbox WHERE receiver = ? ORDER BY seq LIMIT 1').all('r') as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING (COVERING )?INDEX webhook_outbox_receiver/);
  });
});
