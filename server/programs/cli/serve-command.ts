import cluster from 'node:cluster';
import type { Command } from 'commander';
import { forkClusterWorker, superviseWorkers } from '../../cluster/workers.js';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import { CliError, intOption, println, type CliIo } from './io.js';

interface ServeOptions {
  data: string;
  trust?: string;
  port?: number;
  host?: string;
  /** Repeatable; replaces OTA_WEBHOOK_URL when given. */
  webhookUrl?: string[];
  switchTrust?: boolean;
  /** node:cluster processes sharing the port (protocol §9); more than 1 needs PostgreSQL. */
  workers?: number;
}

/** Ends on SIGINT/SIGTERM (the signal's name is the abort reason), or when io.stop aborts (tests). */
function stopSignal(io: CliIo): AbortSignal {
  if (io.stop) return io.stop;
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    controller.abort(signal);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return controller.signal;
}

/** Why the server stops, for its last log line: the signal, or the caller's reason. */
const reasonOf = (stop: AbortSignal): string => (typeof stop.reason === 'string' ? stop.reason : 'stop requested');

/**
 * With --workers the primary starts the workers one after another; only the
 * first it ever starts prints the banner (it is the same for every worker,
 * and a restarted worker would repeat it). Set by the primary in the
 * worker's environment.
 */
const BANNER_ENV = 'OTA_WORKER_PRINTS_BANNER';

/**
 * `ota serve`: the same composition root as `npm start` (startServer), with
 * flags over the environment. Resolves once the server has closed on
 * SIGINT/SIGTERM (or io.stop).
 */
export async function serve(opts: ServeOptions, io: CliIo): Promise<number> {
  const overrides: Partial<Config> = { dataDir: opts.data };
  if (opts.trust !== undefined) overrides.trustDir = opts.trust;
  if (opts.port !== undefined) overrides.port = opts.port;
  if (opts.host !== undefined) overrides.host = opts.host;
  if (opts.switchTrust) overrides.switchTrust = true;
  let config: Readonly<Config>;
  try {
    // Through the environment form, so flags get the same validation as OTA_WEBHOOK_URL.
    const env = opts.webhookUrl ? { ...io.env, OTA_WEBHOOK_URL: opts.webhookUrl.join(',') } : io.env;
    config = loadConfig(env, overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`invalid configuration: ${e.problems.join('; ')}`);
    throw e;
  }
  if ((opts.workers ?? 1) > 1 && cluster.isPrimary) {
    // One writer per SQLite file: several processes need the shared PostgreSQL (protocol §9).
    if (config.databaseUrl === undefined) throw new CliError(`--workers ${opts.workers} needs PostgreSQL (set OTA_DATABASE_URL): SQLite allows one server process per data folder`);
    let started = 0;
    const spawn = () => forkClusterWorker({ [BANNER_ENV]: started++ === 0 ? '1' : '0' });
    const code = await superviseWorkers({ count: opts.workers as number, spawn, log: (line) => println(io.err, line), stop: stopSignal(io) });
    if (code === 0) println(io.err, 'ota: server closed');
    return code;
  }
  // A worker's stop is the primary's to escalate: a second signal (Ctrl-C reaches the whole group,
  // then the primary forwards SIGTERM) must not kill it mid-close.
  if (cluster.isWorker) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => {});
  // The banner on stderr like `npm start`: stdout is the JSON log, for `ota serve | jq`. Of several
  // workers, only the first prints it, and the primary says when they have all closed.
  const quiet = cluster.isWorker && io.env[BANNER_ENV] !== '1';
  // Loaded here, not at the top: the server is most of the CLI's code, and every other command needs none of it.
  const { startServer } = await import('../../serve.js');
  const running = await startServer(config, quiet ? () => {} : (line) => println(io.err, line));
  const stop = stopSignal(io);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  await running.close(reasonOf(stop));
  if (!cluster.isWorker) println(io.err, 'ota: server closed');
  // A worker's IPC channel to its primary would keep it alive after the close.
  if (cluster.isWorker) cluster.worker?.disconnect();
  return 0;
}

export function registerServe(program: Command, io: CliIo, exit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the OTA server (without --trust, a dev trust folder is generated once under the data folder)')
    .requiredOption('--data <dir>', 'data folder (SQLite, artifacts)')
    .option('--trust <dir>', 'trust folder (protocol §1)')
    .option('--port <n>', 'TCP port (default: $PORT or 8080)', intOption('--port', 0, 65535))
    .option('--host <host>', 'listen address (default: $HOST or 127.0.0.1)')
    .option('--webhook-url <url...>', 'receiver of rollout state changes, repeatable (default: $OTA_WEBHOOK_URL); sign with $OTA_WEBHOOK_SECRET')
    .option('--workers <n>', 'server processes on this machine sharing the port (more than 1 needs OTA_DATABASE_URL)', intOption('--workers', 1, 256))
    .option('--switch-trust', 're-bind a data folder made under another trust root to this one (audit-logged; default: refuse)')
    .action(async (opts: ServeOptions) => exit(await serve(opts, io)));
}
