import cluster from 'node:cluster';
import type { Command } from 'commander';
import { forkClusterWorker, superviseWorkers } from '../../cluster/workers.js';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import { startServer } from '../../serve.js';
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

/** Ends on SIGINT/SIGTERM, or when io.stop aborts (tests). */
function stopSignal(io: CliIo): AbortSignal {
  if (io.stop) return io.stop;
  const controller = new AbortController();
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return controller.signal;
}

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
    return superviseWorkers({ count: opts.workers as number, spawn: forkClusterWorker, log: (line) => println(io.err, line), stop: stopSignal(io) });
  }
  // A worker's stop is the primary's to escalate: a second signal (Ctrl-C reaches the whole group,
  // then the primary forwards SIGTERM) must not kill it mid-close.
  if (cluster.isWorker) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => {});
  // The banner on stderr like `npm start`: stdout is the JSON log, for `ota serve | jq`.
  const running = await startServer(config, (line) => println(io.err, line));
  const stop = stopSignal(io);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  await running.close();
  println(io.err, 'ota: server closed');
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
