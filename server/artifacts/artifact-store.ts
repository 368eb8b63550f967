import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, openSync, fsyncSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';

export interface StoredArtifact {
  sha256: string;
  size: number;
}

/** What a hawkBit DDI deploymentBase names (protocol §11): the other digests and the upload name. */
export interface ArtifactDetails extends StoredArtifact {
  sha1: string;
  md5: string;
  /** The file name given at upload (`PUT /v1/artifacts?name=`), if any. */
  name: string | null;
}

/** protocol §11: an upload name is a plain file name (it ends up in a URL path and in clients' file systems). */
export const ARTIFACT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export type ArtifactStore = ReturnType<typeof createArtifactStore>;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Content-addressed artifact store: bytes stream to a temporary file while
 * being hashed and counted; only a complete upload is fsynced and renamed
 * into place under its SHA-256, so a partial upload leaves nothing behind.
 */
export function createArtifactStore(sql: Sql, dir: string) {
  const tmpDir = join(dir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  // Leftovers of uploads cut short by a crash.
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });

  const pathOf = (sha256: string): string => join(dir, sha256.slice(0, 2), sha256);

  return {
    pathOf,
    get: (sha256: string): Promise<StoredArtifact | undefined> => sql.one<StoredArtifact>('SELECT sha256, size FROM artifacts WHERE sha256 = ?', [sha256]),
    /** Uploaded artifacts by digest, for operators (GET /v1/artifacts). */
    page: (afterSha: string, limit: number) => sql.all<{ sha256: string; size: number; uploadedAt: string; uploadedBy: string }>(
      'SELECT sha256, size, uploaded_at AS "uploadedAt", uploaded_by AS "uploadedBy" FROM artifacts WHERE sha256 > ? ORDER BY sha256 LIMIT ?', [afterSha, limit]),
    /**
     * The artifact with its sha1, md5 and upload name (protocol §11). Digests are computed at
     * upload; an artifact uploaded before they were kept gets them here, once, streamed from disk.
     */
    async details(sha256: string): Promise<ArtifactDetails | undefined> {
      const row = await sql.one<ArtifactDetails & { sha1: string | null; md5: string | null }>('SELECT sha256, size, sha1, md5, name FROM artifacts WHERE sha256 = ?', [sha256]);
      if (!row) return undefined;
      if (row.sha1 !== null && row.md5 !== null) return row;
      const sha1 = createHash('sha1');
      const md5 = createHash('md5');
      for await (const chunk of createReadStream(pathOf(sha256))) {
        sha1.update(chunk as Buffer);
        md5.update(chunk as Buffer);
      }
      const digests = { sha1: sha1.digest('hex'), md5: md5.digest('hex') };
      await sql.run('UPDATE artifacts SET sha1 = ?, md5 = ? WHERE sha256 = ?', [digests.sha1, digests.md5, sha256]);
      return { ...row, ...digests };
    },
    /** Deletes the row (inside the caller's transaction); the bytes go with `removeFile` after it commits. */
    async remove(sha256: string): Promise<void> {
      await sql.run('DELETE FROM artifacts WHERE sha256 = ?', [sha256]);
    },
    /** The stored bytes of a removed artifact (gone already is fine: another node may share the folder). */
    removeFile(sha256: string): void {
      rmSync(pathOf(sha256), { force: true });
    },
    async put(body: Readable, maxBytes: number, uploadedBy: string, at: string, name?: string): Promise<StoredArtifact & { created: boolean }> {
      const tmp = join(tmpDir, randomBytes(12).toString('hex'));
      const hash = createHash('sha256');
      // protocol §11: DDI clients are given sha1 and md5 too; computed in the same pass.
      const sha1 = createHash('sha1');
      const md5 = createHash('md5');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) {
            done(new AppError('payload_too_large', `artifacts are limited to ${maxBytes} bytes`));
            return;
          }
          hash.update(chunk);
          sha1.update(chunk);
          md5.update(chunk);
          done(null, chunk);
        },
      });
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
      try {
        await pipeline(body, meter, out);
        fsyncPath(tmp);
      } catch (e) {
        // The file is opened asynchronously: a refusal can come before the open completes, so wait
        // for the stream to close, or the open would create the file again after it was removed.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        rmSync(tmp, { force: true });
        if (e instanceof AppError) throw e;
        throw new AppError('bad_request', 'the upload was interrupted before all bytes arrived', { cause: e });
      }
      const sha256 = hash.digest('hex');
      const final = pathOf(sha256);
      const existed = existsSync(final);
      if (existed) rmSync(tmp, { force: true });
      else {
        mkdirSync(join(dir, sha256.slice(0, 2)), { recursive: true });
        renameSync(tmp, final);
        fsyncPath(join(dir, sha256.slice(0, 2)));
      }
      const created = (await sql.run('INSERT INTO artifacts (sha256, size, uploaded_at, uploaded_by, sha1, md5, name) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
        [sha256, size, at, uploadedBy, sha1.digest('hex'), md5.digest('hex'), name ?? null])) === 1;
      // The same bytes uploaded again with a name: the first name given stays.
      if (!created && name !== undefined) await sql.run('UPDATE artifacts SET name = ? WHERE sha256 = ? AND name IS NULL', [name, sha256]);
      return { sha256, size, created };
    },
  };
}
