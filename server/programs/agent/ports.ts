import type { ReleaseSigned } from '../../protocol/release-manifest.js';

/**
 * What the agent needs from its host, as interfaces: the verification core
 * and the update flow run anywhere (Node, React Native, a browser); the Node
 * implementations live in http-transport.ts, file-state-store.ts and
 * downloader.ts.
 */

export interface TransportResponse {
  status: number;
  header(name: string): string | null;
  /** The parsed JSON body, or undefined when there was none (304, empty). */
  json: unknown;
}

export interface ByteResponse {
  status: number;
  header(name: string): string | null;
  body: AsyncIterable<Uint8Array>;
}

export interface Transport {
  /** `path` starts with /v1/...; the transport adds its base URL and credentials. */
  get(path: string, headers?: Record<string, string>): Promise<TransportResponse>;
  post(path: string, body: unknown): Promise<TransportResponse>;
  /** GET raw bytes; `url` is a path on the server or an absolute URL (protocol §4 artifact.url). */
  stream(url: string, headers?: Record<string, string>): Promise<ByteResponse>;
}

/** The server could not be reached or answered something unusable: try again later. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** Where the agent's state lives between runs (a JSON file on Node). */
export interface StateStore {
  load(): Promise<unknown>;
  save(json: string): Promise<void>;
}

/** Persisted progress of one artifact download (protocol §7 Range resume). */
export interface PartialDownload {
  sha256: string;
  path: string;
  offset: number;
}

export type DownloadErrorCode = 'artifact_mismatch' | 'download_interrupted';

export class DownloadError extends Error {
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

export interface ArtifactDownloader {
  /**
   * Fetches the release's artifact, resuming `partial` when it is for the
   * same sha256, and checks size and SHA-256 before returning the file's
   * path. Throws DownloadError: `artifact_mismatch` (bytes refused, partial
   * discarded) or `download_interrupted` (keep the partial, retry later).
   */
  download(release: ReleaseSigned, partial: PartialDownload | undefined, progress: (p: PartialDownload) => void): Promise<string>;
  /** Removes a downloaded artifact once it is installed. */
  discard(path: string): Promise<void>;
}

/**
 * The embedding code's installer: writes the image. Throwing means the
 * install failed (reported `failed`). It may be called again for the same
 * release after a crash, so it must be idempotent.
 */
export type Installer = (artifactPath: string, release: ReleaseSigned) => Promise<void>;
