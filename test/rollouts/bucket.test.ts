import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import type { DeviceFacts } from '../../server/cohorts/cohort.js';
import { nativeSha256 } from '../../server/protocol/crypto/native-hash.js';
import { bucketOf, inBucket } from '../../server/protocol/bucket.js';
import { eligibleStage, type EligibilityInput } from '../../server/rollouts/eligibility.js';
import { VECTORS } from '../helpers/vectors.js';

/** protocol §5 vectors, carried in test/vectors (sources in its README). */
const vectorsFile = join(VECTORS, 'bucket-vectors.json');

interface Vector {
  salt: string;
  deviceId: string;
  bucket: number;
}

/** A small seeded PRNG (mulberry32): reproducible "random" ids and stages. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (rand: () => number, n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

describe('bucket (protocol §5) against test/vectors/bucket-vectors.json', () => {
  it('the vectors file exists beside the repository', () => {
    expect(existsSync(vectorsFile), `missing ${vectorsFile}`).toBe(true);
  });

  const vectors = existsSync(vectorsFile) ? (JSON.parse(readFileSync(vectorsFile, 'utf8')) as Vector[]) : [];

  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  it.each(vectors)('bucket($salt, $deviceId) = $bucket', ({ salt, deviceId, bucket }) => {
    expect(bucketOf(salt, deviceId)).toBe(bucket);
    // The server's hot path hashes natively: it must agree with the portable one.
    expect(bucketOf(salt, deviceId, nativeSha256)).toBe(bucket);
    expect(inBucket(salt, deviceId, bucket)).toBe(false);
    expect(inBucket(salt, deviceId, bucket + 1)).toBe(true);
  });

  it('is always an integer in 0..9999 (uint32 big-endian, not a signed int)', () => {
    const rand = prng(7);
    for (let i = 0; i < 5000; i++) {
      const b = bucketOf(hex(rand, 32), `dev-${i}`, nativeSha256);
      expect(Number.isInteger(b) && b >= 0 && b < 10000).toBe(true);
    }
  });
});

const rollout = (stages: { cohort: string; basisPoints: number }[]): EligibilityInput => ({
  models: new Set(['redmi-1s']),
  appliesTo: new semver.Range('>=1.4.0 <1.4.3'),
  stages,
});
const device = (over: Partial<DeviceFacts> = {}): DeviceFacts => ({ id: 'd1', model: 'redmi-1s', version: '1.4.1', attributes: {}, ...over });

describe('eligibility (protocol §5)', () => {
  const inQa = (c: string) => c === 'all' || c === 'qa';
  const notQa = (c: string) => c === 'all';

  it.each([
    ['in qa, any bucket', rollout([{ cohort: 'qa', basisPoints: 10000 }]), device(), 9999, inQa, 0],
    ['not in qa', rollout([{ cohort: 'qa', basisPoints: 10000 }]), device(), 0, notQa, -1],
    ['other model', rollout([{ cohort: 'all', basisPoints: 10000 }]), device({ model: 'redmi-2' }), 0, inQa, -1],
    ['version at the excluded upper bound', rollout([{ cohort: 'all', basisPoints: 10000 }]), device({ version: '1.4.3' }), 0, inQa, -1],
    ['version below the range', rollout([{ cohort: 'all', basisPoints: 10000 }]), device({ version: '1.3.9' }), 0, inQa, -1],
    ['bucket equal to basisPoints is out', rollout([{ cohort: 'all', basisPoints: 1000 }]), device(), 1000, inQa, -1],
    ['bucket just under basisPoints is in', rollout([{ cohort: 'all', basisPoints: 1000 }]), device(), 999, inQa, 0],
    ['0 basis points admits nobody', rollout([{ cohort: 'all', basisPoints: 0 }]), device(), 0, inQa, -1],
    ['earliest stage wins', rollout([{ cohort: 'qa', basisPoints: 10000 }, { cohort: 'all', basisPoints: 1000 }]), device(), 5, inQa, 0],
    ['a later stage admits a non-member', rollout([{ cohort: 'qa', basisPoints: 10000 }, { cohort: 'all', basisPoints: 1000 }]), device(), 5, notQa, 1],
    ['no stage reached yet', rollout([]), device(), 0, inQa, -1],
  ] as const)('%s', (_what, r, d, bucket, inCohort, expected) => {
    expect(eligibleStage(r, d, bucket, inCohort)).toBe(expected);
  });
});

describe('property: raising basis points only ever adds devices', () => {
  it('for random fleets and stage plans, every device eligible before stays eligible after a raise (and stays at a stage <= its old one)', () => {
    const rand = prng(42);
    const models = ['redmi-1s', 'redmi-2'];
    const versions = ['1.3.9', '1.4.0', '1.4.1', '1.4.2', '1.4.3'];
    const cohorts = ['all', 'qa', 'beta'];
    for (let trial = 0; trial < 200; trial++) {
      const salt = hex(rand, 32);
      const stageCount = 1 + Math.floor(rand() * 4);
      const stages = Array.from({ length: stageCount }, () => ({
        cohort: cohorts[Math.floor(rand() * cohorts.length)] as string,
        basisPoints: Math.floor(rand() * 10001),
      }));
      const which = Math.floor(rand() * stageCount);
      const raised = stages.map((s, j) => (j === which ? { ...s, basisPoints: s.basisPoints + Math.floor(rand() * (10001 - s.basisPoints)) } : s));
      const before = rollout(stages);
      const after = rollout(raised);
      for (let i = 0; i < 200; i++) {
        const d: DeviceFacts = {
          id: `t${trial}-d${i}`,
          model: models[Math.floor(rand() * models.length)] as string,
          version: versions[Math.floor(rand() * versions.length)] as string,
          attributes: {},
        };
        const member = new Set(cohorts.filter((c) => c === 'all' || rand() < 0.3));
        const inCohort = (c: string) => member.has(c);
        const b = bucketOf(salt, d.id, nativeSha256);
        const was = eligibleStage(before, d, b, inCohort);
        const now = eligibleStage(after, d, b, inCohort);
        if (was >= 0) {
          expect(now, `trial ${trial} device ${d.id}: raising stage ${which} removed it`).toBeGreaterThanOrEqual(0);
          expect(now).toBeLessThanOrEqual(was);
        }
        // Reaching one more stage never removes a device either.
        const fewer = eligibleStage(rollout(stages.slice(0, which)), d, b, inCohort);
        if (fewer >= 0) expect(was).toBe(fewer);
      }
    }
  });

  it('along a ladder of percentages, the eligible set at b is a subset of the set at every b\' > b', () => {
    const rand = prng(99);
    const salt = hex(rand, 32);
    const ids = Array.from({ length: 20_000 }, (_, i) => `ladder-${i}-${hex(rand, 6)}`);
    const buckets = ids.map((id) => bucketOf(salt, id, nativeSha256));
    let previous = new Set<string>();
    for (const b of [0, 1, 10, 100, 500, 1000, 2500, 5000, 9999, 10000]) {
      const r = rollout([{ cohort: 'all', basisPoints: b }]);
      const eligible = new Set(ids.filter((id, i) => eligibleStage(r, device({ id }), buckets[i] as number, () => true) === 0));
      for (const id of previous) expect(eligible.has(id), `${id} dropped at ${b}bp`).toBe(true);
      previous = eligible;
    }
    expect(previous.size).toBe(ids.length);
  });
});

describe('property: the share eligible at b basis points is within 1% of b', () => {
  const rand = prng(2014);
  const salt = hex(rand, 32);
  const ids = Array.from({ length: 100_000 }, () => `${hex(rand, 4)}-${hex(rand, 12)}`);
  const buckets = ids.map((id) => bucketOf(salt, id, nativeSha256));

  it.each([0, 1, 100, 1000, 2500, 5000, 9000, 10000])('%i basis points', (b) => {
    const r = rollout1(b);
    const eligible = ids.filter((id, i) => eligibleStage(r, { id, model: 'redmi-1s', version: '1.4.1', attributes: {} }, buckets[i] as number, () => true) === 0).length;
    const share = eligible / ids.length;
    // Within one percentage point (100 bp) of the target share.
    expect(Math.abs(share - b / 10000)).toBeLessThanOrEqual(0.01);
    if (b === 0) expect(eligible).toBe(0);
    if (b === 10000) expect(eligible).toBe(ids.length);
  });

  it('buckets are spread evenly over 0..9999 (no decile off by more than 1% of the fleet)', () => {
    const deciles = new Array<number>(10).fill(0);
    for (const b of buckets) deciles[Math.floor(b / 1000)]! += 1;
    for (const n of deciles) expect(Math.abs(n / ids.length - 0.1)).toBeLessThan(0.01);
  });
});

function rollout1(basisPoints: number): EligibilityInput {
  return { models: new Set(['redmi-1s']), appliesTo: new semver.Range('*'), stages: [{ cohort: 'all', basisPoints }] };
}
