import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactUrl, type ReleaseSigned } from '../../protocol/release-manifest.js';
import { DownloadError, type ArtifactDownloader, type PartialDownload, type Transport } from './ports.js';

export interface FileDownloaderOptions {
  /** Folder for artifacts being downloaded (`<sha256>.part`). */
  dir: string;
  transport: Transport;
}

const sizeOf = (path: string): Promise<number> => stat(path).then((s) => s.size, () => 0);

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const interrupted = (message: string, cause?: unknown) => new DownloadError('download_interrupted', message, { cause });

/**
 * Artifacts on disk with HTTP Range resume (protocol §7): a cut download
 * continues from the bytes already written; nothing is handed to the
 * installer before its size and SHA-256 match the signed manifest (§4).
 */
export function createFileDownloader(o: FileDownloaderOptions): ArtifactDownloader {
  /** Fetches from `offset` to the end, appending; returns the new size on disk. */
  async function fetchRest(url: string, path: string, offset: number, size: number, progress: (n: number) => void): Promise<number> {
    let res;
    try {
      res = await o.transport.stream(url, offset > 0 ? { Range: `bytes=${offset}-` } : {});
    } catch (e) {
      throw interrupted(`artifact download failed: ${(e as Error).message}`, e);
    }
    if (res.status === 206) {
      const start = /^bytes (\d+)-/.exec(res.header('content-range') ?? '')?.[1];
      if (Number(start) !== offset) {
        await rm(path, { force: true });
        throw interrupted(`server resumed at ${String(start)}, not at byte ${offset}; starting over`);
      }
    } else if (res.status === 200) {
      offset = 0;
    } else {
      if (res.status === 416) await rm(path, { force: true });
      throw interrupted(`artifact download answered ${res.status}`);
    }
    const fh = await open(path, offset === 0 ? 'w' : 'a');
    try {
      for await (const chunk of res.body) {
        offset += chunk.length;
        if (offset > size) throw new DownloadError('artifact_mismatch', `artifact is larger than the ${size} bytes the release declares`);
        await fh.write(chunk);
        progress(offset);
      }
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      throw interrupted(`artifact download cut at byte ${offset}: ${(e as Error).message}`, e);
    } finally {
      await fh.close();
    }
    return offset;
  }

  return {
    async download(release: ReleaseSigned, partial: PartialDownload | undefined, progress: (p: PartialDownload) => void): Promise<string> {
      const artifact = release.artifact;
      const url = artifactUrl(release);
      if (!artifact || !url) throw new TypeError(`release ${release.id} has no artifact`);
      await mkdir(o.dir, { recursive: true });
      const path = join(o.dir, `${artifact.sha256}.part`);
      if (partial && partial.path !== path) await rm(partial.path, { force: true });
      let offset = await sizeOf(path);
      if (offset > artifact.size) {
        await rm(path, { force: true });
        offset = 0;
      }
      const report = (n: number) => progress({ sha256: artifact.sha256, path, offset: n });
      report(offset);
      try {
        if (offset < artifact.size || artifact.size === 0) offset = await fetchRest(url, path, offset, artifact.size, report);
        if (offset < artifact.size) throw interrupted(`artifact download ended at byte ${offset} of ${artifact.size}`);
        const digest = await sha256OfFile(path);
        if (digest !== artifact.sha256) throw new DownloadError('artifact_mismatch', `artifact SHA-256 is ${digest}, the release declares ${artifact.sha256}`);
      } catch (e) {
        if (e instanceof DownloadError && e.code === 'artifact_mismatch') await rm(path, { force: true });
        throw e;
      }
      return path;
    },
    async discard(path: string): Promise<void> {
      await rm(path, { force: true });
    },
  };
}
