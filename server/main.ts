import { loadConfig } from './config.js';
import { startServer } from './serve.js';

/** `npm start`: configuration from the environment (PORT, HOST, OTA_*), see README. */
async function main(): Promise<void> {
  const running = await startServer(loadConfig());
  const stop = (signal: NodeJS.Signals) => void running.close(signal).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(`ota server: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
