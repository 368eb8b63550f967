import { hash } from 'node:crypto';

/** Node's one-shot native SHA-256 (UTF-8 input), for server hot paths; same digest as crypto/hash.ts. */
export const nativeSha256 = (data: string): Uint8Array => hash('sha256', data, 'buffer');
