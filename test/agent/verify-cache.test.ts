import { describe, expect, it } from 'vitest';
import { VerifyCache } from '../../server/programs/agent/verify-cache.js';

describe('VerifyCache', () => {
  it('computes each key once, stays within its bound, and evicts the least recently used first', () => {
    const cache = new VerifyCache(2);
    let computed = 0;
    const get = (key: string) => cache.memo(key, () => (computed++, `answer:${key}`));
    expect(get('a')).toBe('answer:a');
    expect(get('b')).toBe('answer:b');
    expect(get('a')).toBe('answer:a');
    expect(computed).toBe(2);
    get('c'); // evicts b, used longest ago
    expect(cache.size).toBe(2);
    get('a');
    expect(computed).toBe(3);
    get('b');
    expect(computed).toBe(4);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 2, misses: 4 });
  });

  it('memoises falsy answers too (an empty list of reasons is an answer)', () => {
    const cache = new VerifyCache();
    let computed = 0;
    for (let i = 0; i < 3; i++) expect(cache.memo('k', () => (computed++, [] as string[]))).toEqual([]);
    cache.memo('zero', () => (computed++, 0));
    expect(cache.memo('zero', () => (computed++, 0))).toBe(0);
    expect(computed).toBe(2);
  });
});
