import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * WAL checkpoints on a thread of their own (SQLite engine).
 *
 * SQLite copies the WAL back into the database file inside whichever commit
 * crosses `wal_autocheckpoint` pages, on the thread that commits: here, the
 * event loop. At fleet scale each frame of the WAL is a page no other frame
 * shares (a cold device's row), so a checkpoint of 1,000 frames writes 1,000
 * scattered pages and waits for their fsync: 36 ms in one piece on this
 * project's bench machine with a 1 M-device file (docs/benchmarks.md), every
 * few hundred cold polls. A worker thread with its own connection runs the
 * checkpoints instead, PASSIVE (it never waits for the writer, nor makes it
 * wait), on a short interval; the main connection's own checkpoint stays as
 * a backstop at `BACKSTOP_PAGES`, and goes back to SQLite's default if the
 * thread fails. Durability is unchanged: a commit is durable when its WAL
 * frames are synced, which the committing connection still does itself.
 */
export interface WalCheckpointer {
  /** Stops the thread (its connection closed) before the main connection closes. */
  stop(): Promise<void>;
  /** Checkpoints the thread has run that copied frames, and the frames copied (for tests and diagnosis). */
  stats(): { checkpoints: number; frames: number };
}

export interface CheckpointerOptions {
  /** How often the thread checkpoints (ms). */
  intervalMs?: number;
  /** Called once if the thread fails; checkpoints then run in commits again. */
  onError?: (err: Error) => void;
}

/** SQLite's default `wal_autocheckpoint`, restored when the thread is gone. */
const SQLITE_DEFAULT_PAGES = 1000;
/** The main connection's own checkpoint while the thread runs: only if the thread fell far behind. */
export const BACKSTOP_PAGES = 10_000;

// Plain JavaScript so the same code runs from the TypeScript sources (tests) and from dist/.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// A checkpoint syncs the WAL before it copies and the database file after (as the main connection's would).
db.pragma('synchronous = FULL');
const tick = () => {
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  if (r && r.checkpointed > 0) parentPort.postMessage(r.checkpointed);
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export function startWalCheckpointer(db: Database.Database, file: string, opts: CheckpointerOptions = {}): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD, { eval: true, workerData: { driver, file, intervalMs: opts.intervalMs ?? 200 } });
  // The thread never keeps the process alive; stop() is what ends it.
  worker.unref();
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  let checkpoints = 0;
  let frames = 0;
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (copied: number) => {
    checkpoints++;
    frames += copied;
  });
  const fallBack = (err: Error) => {
    if (stopping || !db.open) return;
    stopping = true;
    db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    opts.onError?.(err);
  };
  worker.on('error', fallBack);
  worker.once('exit', (code) => fallBack(new Error(`the WAL checkpoint thread exited (code ${code})`)));
  return {
    async stop() {
      if (!stopping) {
        stopping = true;
        worker.postMessage('stop');
      }
      await exited;
    },
    stats: () => ({ checkpoints, frames }),
  };
}
