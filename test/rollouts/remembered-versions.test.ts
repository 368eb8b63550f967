import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { rememberedRange, validVersion } from '../../server/protocol/versions.js';

// The poll's version parsing and protocol §5 appliesTo test are remembered per distinct string
// (server/protocol/versions.ts); they must answer exactly as semver does, whatever was asked before.
const strings = [
  '1.4.1', ' 1.4.1 ', 'v1.4.1', '=1.4.1', '1.4', '1.4.1-rc.1', '1.4.1+build.7', '01.4.1', '1.4.1 junk',
  '', ' ', 'latest', '2.0.0', '1.3.9', '1.4.3', `1.4.${'9'.repeat(300)}`, `${'1'.repeat(250)}.0.0`,
];

describe('remembered versions', () => {
  it('validVersion answers as semver.valid, asked once or many times', () => {
    for (let round = 0; round < 3; round++) for (const s of strings) expect(validVersion(s)).toBe(semver.valid(s));
  });

  it('a range answers as semver does for every version, past the number of answers it keeps', () => {
    for (const range of ['>=1.4.0 <1.4.3', '^1.4.0', '*', '1.4.1 || >=2.0.0-0', '<0.0.0-0']) {
      const remembered = rememberedRange(range);
      const exact = new semver.Range(range);
      // More distinct versions than the cache holds, twice over: evicted answers are computed again, not guessed.
      const many = Array.from({ length: 2500 }, (_, i) => `${i % 3}.${Math.floor(i / 3) % 7}.${i}`);
      for (let round = 0; round < 2; round++) {
        for (const v of [...strings, ...many]) expect(remembered.test(v), `${range} on "${v.slice(0, 40)}"`).toBe(exact.test(v));
      }
    }
  });
});
