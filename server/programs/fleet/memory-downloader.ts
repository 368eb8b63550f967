import { createHash } from 'node:crypto';
import { DownloadError, TransportError, type ArtifactDownloader, type Transport } from '../agent/ports.js';
import { artifactUrl, type ReleaseSigned } from '../../protocol/release-manifest.js';

const interrupted = (message: string, cause?: unknown) => new DownloadError('download_interrupted', message, { cause });

/**
 * An ArtifactDownloader that keeps nothing on disk (thousands of simulated
 * devices): streams the artifact, counts and hashes it, and hands the
 * installer a `memory:<sha256>` name only when size and SHA-256 match the
 * signed manifest (protocol §4). No Range resume: a cut download starts over.
 */
export function createMemoryDownloader(transport: Transport): ArtifactDownloader {
  return {
    async download(release: ReleaseSigned): Promise<string> {
      const artifact = release.artifact;
      const url = artifactUrl(release);
      if (!artifact || !url) throw new TypeError(`release ${release.id} has no artifact`);
      let res;
      try {
        res = await transport.stream(url);
      } catch (e) {
        if (e instanceof TransportError) throw interrupted(`artifact download failed: ${e.message}`, e);
        throw e;
      }
      if (res.status !== 200) {
        for await (const _ of res.body) break;
        throw interrupted(`artifact download answered ${res.status}`);
      }
      const hash = createHash('sha256');
      let size = 0;
      try {
        for await (const chunk of res.body) {
          size += chunk.length;
          if (size > artifact.size) throw new DownloadError('artifact_mismatch', `artifact is larger than the ${artifact.size} bytes the release declares`);
          hash.update(chunk);
        }
      } catch (e) {
        if (e instanceof DownloadError) throw e;
        throw interrupted(`artifact download cut at byte ${size}: ${(e as Error).message}`, e);
      }
      if (size < artifact.size) throw interrupted(`artifact download ended at byte ${size} of ${artifact.size}`);
      const digest = hash.digest('hex');
      if (digest !== artifact.sha256) throw new DownloadError('artifact_mismatch', `artifact SHA-256 is ${digest}, the release declares ${artifact.sha256}`);
      return `memory:${digest}`;
    },
    async discard(): Promise<void> {},
  };
}
