import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** What the lock file says about the server holding the data folder. */
interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

export class DataFolderLockedError extends Error {}

export interface DataLock {
  path: string;
  release(): void;
}

export const lockPath = (dataDir: string): string => join(dataDir, 'server.lock');

function readHolder(path: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? { pid: v.pid, host: v.host, startedAt: String(v.startedAt ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/** A process that exists (EPERM: it does, under another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per data folder: an exclusive lock file (`server.lock`,
 * created with O_EXCL) holding the server's pid, kept while it runs. A lock
 * left by a process that no longer exists on this host (a crash, SIGKILL)
 * is taken over; a live holder, or one on another host (which cannot be
 * checked), is refused with who holds it.
 */
export function lockDataFolder(dataDir: string, now = new Date()): DataLock {
  const path = lockPath(dataDir);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: now.toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw e;
    }
    const holder = readHolder(path);
    if (holder && (holder.host !== me.host || isAlive(holder.pid))) {
      const where = holder.host === me.host ? `process ${holder.pid}` : `process ${holder.pid} on ${holder.host}`;
      throw new DataFolderLockedError(
        `data folder ${dataDir} is in use by another OTA server (${where}, since ${holder.startedAt}); ` +
          `one server per data folder: stop it, or use another --data / OTA_DATA_DIR. ` +
          `If no server is running there, delete ${path}.`,
      );
    }
    // Stale (its process is gone) or unreadable (a crash mid-write): take it over.
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // Only our own lock: never remove one a later server took over.
    if (readHolder(path)?.pid === me.pid) unlinkSync(path);
  };
  process.on('exit', release);
  return { path, release };
}
