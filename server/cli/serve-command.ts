import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { startServer } from '../serve.js';
import { CliError, intOption, println, type CliIo } from './io.js';

interface ServeOptions {
  data: string;
  trust?: string;
  port?: number;
  host?: string;
  /** Repeatable; replaces OTA_WEBHOOK_URL when given. */
  webhookUrl?: string[];
  switchTrust?: boolean;
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
  // The banner on stderr like `npm start`: stdout is the JSON log, for `ota serve | jq`.
  const running = await startServer(config, (line) => println(io.err, line));
  await new Promise<void>((resolve) => {
    if (io.stop) {
      if (io.stop.aborted) resolve();
      else io.stop.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  println(io.err, 'ota: server closed');
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
    .option('--switch-trust', 're-bind a data folder made under another trust root to this one (audit-logged; default: refuse)')
    .action(async (opts: ServeOptions) => exit(await serve(opts, io)));
}
