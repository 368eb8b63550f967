import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../server/db/connect.js';
import { openDatabase } from '../../server/db/open.js';
import type { Sql } from '../../server/db/sql.js';
import { BACKSTOP_PAGES, startWalCheckpointer } from '../../server/db/wal-checkpointer.js';

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ota-wal-'));
  dirs.push(dir);
  return join(dir, 'ota.db');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(cond()).toBe(true);
}

/** Writes `pages` WAL frames of distinct pages: one ~4 KB row per page, `perCommit` rows per commit. */
async function writePages(sql: Sql, pages: number, perCommit = 50): Promise<void> {
  await sql.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  for (let done = 0; done < pages; done += perCommit) {
    await sql.transaction(async () => {
      for (let i = 0; i < perCommit; i++) await sql.run('INSERT INTO filler (body) VALUES (randomblob(3900))');
    });
  }
}

describe('WAL checkpoints on a thread of their own (SQLite)', () => {
  it('a server connection leaves checkpoints to the thread: commits past 1,000 pages do not copy the WAL back themselves', async () => {
    const file = tempFile();
    const sql = await connectDatabase({ file, checkpointThread: { intervalMs: 20 } });
    // The main connection's own checkpoint is only a backstop now.
    expect(await sql.value<number>('PRAGMA wal_autocheckpoint')).toBe(BACKSTOP_PAGES);
    await writePages(sql, 2500);
    await sql.close();
    // Closed in order: the thread's connection first, so the main one was the last and removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
    const db = openDatabase(file);
    expect(db.prepare('SELECT count(*) AS n FROM filler').get()).toEqual({ n: 2500 });
    db.close();
  });

  it('the thread copies the frames commits wrote, while the server keeps writing', async () => {
    const file = tempFile();
    const db = openDatabase(file);
    const checkpointer = startWalCheckpointer(db, file, { intervalMs: 20 });
    db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO filler (body) VALUES (randomblob(3900))');
    for (let c = 0; c < 40; c++) {
      db.transaction(() => {
        for (let i = 0; i < 50; i++) insert.run();
      })();
      await new Promise((r) => setImmediate(r));
    }
    // 2,000 rows of a page each (plus the table's interior pages): all copied back by the thread.
    await until(() => checkpointer.stats().frames >= 2000);
    expect(checkpointer.stats().checkpoints).toBeGreaterThan(0);
    // Nothing is left for the main connection to copy.
    const [left] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    expect(left?.checkpointed).toBe(left?.log);
    await checkpointer.stop();
    db.close();
  });

  it('a thread that fails puts checkpoints back into commits and says so once', async () => {
    const file = tempFile();
    const db = openDatabase(file);
    const errors: Error[] = [];
    // A file the thread cannot open: it fails at once.
    const checkpointer = startWalCheckpointer(db, join(file, 'not-a-file.db'), { onError: (e) => errors.push(e) });
    await until(() => errors.length > 0);
    await checkpointer.stop();
    expect(errors).toHaveLength(1);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });

  it('a command (no thread asked for) keeps SQLite default checkpoints, in its commits', async () => {
    const sql = await connectDatabase({ file: tempFile() });
    expect(await sql.value<number>('PRAGMA wal_autocheckpoint')).toBe(1000);
    await sql.close();
  });
});
