import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * The bench's throwaway PostgreSQL: a cluster made and started by
 * scripts/postgres.sh (as the `postgres` user when the bench runs as root),
 * one database per fleet, and the SIGKILL-and-restart of its postmaster for
 * the durability check. The caller stops and deletes it, also on failure.
 */
const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/postgres.sh');
const root = process.getuid?.() === 0;

export interface Cluster {
  dir: string;
  url: string;
  /** A fresh database on the cluster, by name; its URL. */
  createDatabase(name: string): Promise<string>;
  /** kill -9 of the postmaster (its backends exit when they see it gone), as a crash of the database host would. */
  kill(): number;
  /** pg_ctl start on the same data folder, port and options as scripts/postgres.sh; returns once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(dir: string): Promise<Cluster> {
  const { stdout } = await run(script, ['start', dir]);
  const url = stdout.trim().split('\n').pop() as string;
  const port = new URL(url).port;
  const admin = async <T>(work: (c: pg.Client) => Promise<T>, database = url): Promise<T> => {
    const c = new pg.Client({ connectionString: database });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  return {
    dir,
    url,
    createDatabase: async (name) => {
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    kill: () => {
      const pid = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    restart: async () => {
      const bin = (await run('pg_config', ['--bindir'])).stdout.trim();
      const args = ['-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start',
        '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=400 -c shared_buffers=256MB`];
      // Orphaned backends hold the old shared memory until they notice the postmaster is gone: retry.
      for (let attempt = 1; ; attempt++) {
        try {
          await (root ? run('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args]) : run(join(bin, 'pg_ctl'), args));
          return;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    stop: async () => {
      await run(script, ['stop', dir]).catch(() => undefined);
    },
  };
}

/** One query on a fresh connection (the bench's own counts, never through the server). */
export async function pgValue(url: string, text: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(text);
    return Number(r.rows[0]?.n);
  } finally {
    await c.end();
  }
}
