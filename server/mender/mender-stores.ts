import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import { readMenderHeader, type MenderHeader } from './mender-artifact-header.js';
import { entryBoundedLru } from '../lib/entry-bounded-lru.js';

export type MenderArtifactStore = ReturnType<typeof createMenderArtifactStore>;

/** The header of every uploaded `.mender` artifact, by content hash (read once, at upload). */
export function createMenderArtifactStore(sql: Sql) {
  const known = new Map<string, MenderHeader | null>();
  return {
    async record(sha256: string, h: MenderHeader): Promise<void> {
      await sql.run('INSERT INTO mender_artifacts (sha256, artifact_name, device_types) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
        [sha256, h.artifactName, JSON.stringify(h.deviceTypes)]);
      known.set(sha256, h);
    },
    /**
     * Reads an uploaded file's header: undefined when it is not a `.mender`
     * at all; 422 when it claims to be one but is malformed (bounded reads).
     */
    async inspect(sha256: string, path: string): Promise<MenderHeader | undefined> {
      let header: MenderHeader | undefined;
      try {
        header = await readMenderHeader(path);
      } catch (e) {
        throw new AppError('unprocessable', `the artifact looks like a Mender artifact but its header cannot be read: ${(e as Error).message}`);
      }
      if (header) await this.record(sha256, header);
      return header;
    },
    /**
     * The header, or undefined for an artifact that is not a `.mender`.
     * Memoised: an artifact's bytes never change, and neither does its row.
     */
    async get(sha256: string): Promise<MenderHeader | undefined> {
      const cached = known.get(sha256);
      if (cached !== undefined) return cached ?? undefined;
      const row = await sql.one<{ artifactName: string; deviceTypes: string }>('SELECT artifact_name AS "artifactName", device_types AS "deviceTypes" FROM mender_artifacts WHERE sha256 = ?', [sha256]);
      // Only a found header is kept: one uploaded later (on another node) must still be found.
      if (!row) return undefined;
      const h: MenderHeader = { artifactName: row.artifactName, deviceTypes: JSON.parse(row.deviceTypes) as string[], formatVersion: 3 };
      known.set(sha256, h);
      return h;
    },
    /** From memory only: the offer path's answer without a promise, once the header was read here. */
    peek: (sha256: string): MenderHeader | undefined => known.get(sha256) ?? undefined,
  };
}

/**
 * A secret every node shares through the database (protocol §9): the first
 * node to ask creates it, the others read the same row.
 */
export async function sharedSecret(sql: Sql, name: string): Promise<Buffer> {
  await sql.run('INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, randomBytes(32)]);
  const value = await sql.value<Buffer>('SELECT value FROM server_secrets WHERE name = ?', [name]);
  if (!value) throw new Error(`server secret ${name} could not be read back`);
  return Buffer.from(value);
}

export interface TokenOwner {
  deviceId: string;
  /** Epoch ms after which the token is refused; Infinity for the device's current token. */
  expiresAt: number;
}

export type MenderTokenStore = ReturnType<typeof createMenderTokenStore>;

/**
 * Mender device tokens (protocol §12): each admitted auth request gets a
 * fresh one; the device's earlier tokens stay valid for `graceMs` more (a
 * client may still hold one in flight), then are refused and pruned. Only
 * SHA-256 digests are stored. Lookups are cached per node; a revocation
 * (reject, key replaced, decommission) drops the device's entries here and,
 * through the change feed, on every other node.
 */
export function createMenderTokenStore(sql: Sql, opts: { graceMs: number; maxCached: number }) {
  // The cached tokens of each device, so a revocation drops them without walking the cache.
  const byDevice = new Map<string, Set<string>>();
  // lru-cache: constant-time eviction (a Map emptied from its front skips every slot deleted there).
  const cache = entryBoundedLru<string, TokenOwner>(opts.maxCached, {
    // However a token leaves (evicted, revoked, replaced), its device's index follows.
    dispose: (owner, key) => {
      const keys = byDevice.get(owner.deviceId);
      keys?.delete(key);
      if (keys?.size === 0) byDevice.delete(owner.deviceId);
    },
  });
  const remember = (key: string, owner: TokenOwner): void => {
    cache.set(key, owner);
    let keys = byDevice.get(owner.deviceId);
    if (!keys) byDevice.set(owner.deviceId, (keys = new Set()));
    keys.add(key);
  };
  const forget = (deviceId: string): void => {
    for (const key of [...(byDevice.get(deviceId) ?? [])]) cache.delete(key);
  };
  return {
    /** Stores a new current token for the device; its earlier ones now expire after the grace period. */
    async issue(deviceId: string, hash: Buffer, now: number): Promise<void> {
      await sql.transaction(async () => {
        await sql.run('DELETE FROM mender_tokens WHERE device_id = ? AND expires_at IS NOT NULL AND expires_at < ?', [deviceId, now]);
        await sql.run('UPDATE mender_tokens SET expires_at = ? WHERE device_id = ? AND expires_at IS NULL', [now + opts.graceMs, deviceId]);
        await sql.run('INSERT INTO mender_tokens (token_hash, device_id, issued_at, expires_at) VALUES (?, ?, ?, NULL)', [hash, deviceId, now]);
      });
      // Cached earlier tokens carry no expiry: re-read them.
      forget(deviceId);
    },
    /** Who holds this token: from memory when cached, else one indexed read. */
    lookup(hash: Buffer): TokenOwner | undefined | Promise<TokenOwner | undefined> {
      const key = hash.toString('base64');
      const cached = cache.get(key);
      if (cached) return cached;
      return sql.one<{ deviceId: string; expiresAt: number | null }>('SELECT device_id AS "deviceId", expires_at AS "expiresAt" FROM mender_tokens WHERE token_hash = ?', [hash]).then((row) => {
        if (!row) return undefined;
        const owner = { deviceId: row.deviceId, expiresAt: row.expiresAt === null ? Number.POSITIVE_INFINITY : Number(row.expiresAt) };
        remember(key, owner);
        return owner;
      });
    },
    /** Every token of the device stops working (the caller tells the other nodes). */
    async revoke(deviceId: string): Promise<void> {
      await sql.run('DELETE FROM mender_tokens WHERE device_id = ?', [deviceId]);
      forget(deviceId);
    },
    /** Drops this node's cached tokens of a device changed elsewhere (the change feed). */
    forget,
  };
}
