/** The agent's Node layer: state file, artifact downloads on disk, and a ready-wired agent. */
export * from './index.js';
export { createFileDownloader, type FileDownloaderOptions } from './downloader.js';
export { createFileStateStore } from './file-state-store.js';
export { createNodeAgent, type NodeAgentOptions } from './node-agent.js';
