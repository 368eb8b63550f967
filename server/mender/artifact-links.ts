import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where the Mender gateway serves artifact bytes behind a signed link (protocol §12 `source.uri`). */
export const LINK_PATH = '/api/devices/v1/deployments/download';

export interface ArtifactLink {
  sha256: string;
  /** Unix seconds after which the link answers 403. */
  expires: number;
}

export type LinkSigner = ReturnType<typeof createLinkSigner>;

/**
 * Self-authorising artifact links (protocol §12: the client sends no token
 * on downloads): HMAC-SHA256, under a secret every node shares, of the
 * artifact's SHA-256 and the expiry, so a link can be neither pointed at
 * another artifact nor extended. Nothing about the device is in it: the
 * bytes are the same for every device and a link leaks nothing more.
 */
export function createLinkSigner(secret: Buffer) {
  const mac = (sha256: string, expires: number): Buffer => createHmac('sha256', secret).update(`mender-link\n${sha256}\n${expires}`).digest();
  return {
    /** Path and query of the link (the caller puts the origin in front). */
    pathFor(link: ArtifactLink): string {
      return `${LINK_PATH}/${link.sha256}?expires=${link.expires}&signature=${mac(link.sha256, link.expires).toString('base64url')}`;
    },
    /** 'ok', or why the link is refused: altered (signature does not match) or expired. */
    check(sha256: string, expiresRaw: unknown, signatureRaw: unknown, nowSeconds: number): 'ok' | 'altered' | 'expired' {
      if (typeof expiresRaw !== 'string' || !/^[0-9]{1,12}$/.test(expiresRaw) || typeof signatureRaw !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signatureRaw)) return 'altered';
      const expires = Number(expiresRaw);
      // Compared as text: base64url's 43rd character carries two unused bits, so decoding would let
      // four spellings of one signature pass; only the one the server wrote is its link.
      const given = Buffer.from(signatureRaw);
      const want = Buffer.from(mac(sha256, expires).toString('base64url'));
      if (given.length !== want.length || !timingSafeEqual(given, want)) return 'altered';
      return nowSeconds > expires ? 'expired' : 'ok';
    },
  };
}
