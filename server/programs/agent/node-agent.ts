import { dirname, join } from 'node:path';
import { DeviceAgent, type DeviceAgentOptions } from './device-agent.js';
import { createFileDownloader } from './downloader.js';
import { createFileStateStore } from './file-state-store.js';
import { createHttpTransport } from './http-transport.js';

export interface NodeAgentOptions extends Omit<DeviceAgentOptions, 'transport' | 'store' | 'downloader'> {
  baseUrl: string;
  deviceToken: string;
  /** The state file (JSON, replaced atomically). */
  statePath: string;
  /** Where artifacts are downloaded (default: `downloads/` beside the state file). */
  downloadDir?: string;
  fetch?: typeof fetch;
}

/** A DeviceAgent wired for Node: HTTP over fetch, a JSON state file, artifacts on disk. */
export function createNodeAgent(o: NodeAgentOptions): DeviceAgent {
  const { baseUrl, deviceToken, statePath, downloadDir, fetch, ...rest } = o;
  const transport = createHttpTransport({ baseUrl, token: deviceToken, ...(fetch ? { fetch } : {}) });
  return new DeviceAgent({
    ...rest,
    transport,
    store: createFileStateStore(statePath),
    downloader: createFileDownloader({ dir: downloadDir ?? join(dirname(statePath), 'downloads'), transport }),
  });
}
