import { hash, timingSafeEqual } from 'node:crypto';

export const DEVICE_TOKEN_PREFIX = 'dev_';

/** Device tokens are stored as their raw 32-byte SHA-256 (half the index of hex). */
export const deviceTokenHash = (token: string): Buffer => hash('sha256', token, 'buffer');

export const sameDigest = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
