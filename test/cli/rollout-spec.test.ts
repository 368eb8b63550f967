import { describe, expect, it } from 'vitest';
import { parseAttributes } from '../../server/programs/cli/cohort-commands.js';
import { formatPercent, parsePercent, parseStageSpec } from '../../server/programs/cli/rollout-spec.js';

describe('parsePercent: decimal text → basis points, exactly', () => {
  it.each([
    ['0', 0],
    ['0.5', 50],
    ['0.05', 5],
    ['0.01', 1],
    ['1', 100],
    ['2.5', 250],
    ['12.34', 1234],
    ['33.33', 3333],
    ['99.99', 9999],
    ['100', 10000],
    ['100.00', 10000],
    ['10%', 1000],
    ['007', 700],
    // a float conversion would make these off by one (0.29 * 100 = 28.999999999999996)
    ['0.29', 29],
    ['0.57', 57],
    ['1.13', 113],
  ])('%s → %d', (raw, bp) => {
    expect(parsePercent(raw, 'x')).toBe(bp);
  });

  it.each([
    ['0.123', /more than 2 decimals/],
    ['0.001', /more than 2 decimals/],
    ['100.01', /at most 100/],
    ['101', /at most 100/],
    ['1000', /number from 0 to 100/],
    ['-1', /number from 0 to 100/],
    ['', /number from 0 to 100/],
    ['.5', /number from 0 to 100/],
    ['5.', /number from 0 to 100/],
    ['1e2', /number from 0 to 100/],
    ['ten', /number from 0 to 100/],
  ])('refuses %j', (raw, why) => {
    expect(() => parsePercent(raw, 'x')).toThrow(why);
  });

  it('formatPercent is its exact inverse for every basis point', () => {
    for (let bp = 0; bp <= 10000; bp++) expect(parsePercent(formatPercent(bp), 'x')).toBe(bp);
    expect([0, 1, 50, 250, 1000, 1234, 10000].map(formatPercent)).toEqual(['0.00%', '0.01%', '0.50%', '2.50%', '10.00%', '12.34%', '100.00%']);
  });
});

describe('parseStageSpec: COHORT:PERCENT[:DWELL_SECONDS[:auto]]', () => {
  it.each([
    ['qa:100', { cohort: 'qa', basisPoints: 10000 }],
    ['all:0.5', { cohort: 'all', basisPoints: 50 }],
    ['all:10%', { cohort: 'all', basisPoints: 1000 }],
    ['all:10:3600', { cohort: 'all', basisPoints: 1000, minDwellSeconds: 3600 }],
    ['all:10:0', { cohort: 'all', basisPoints: 1000, minDwellSeconds: 0 }],
    ['all:10:86400:auto', { cohort: 'all', basisPoints: 1000, minDwellSeconds: 86400, autoAdvance: true }],
    ['all:10::auto', { cohort: 'all', basisPoints: 1000, autoAdvance: true }],
    ['beta.eu-1:2.25:60', { cohort: 'beta.eu-1', basisPoints: 225, minDwellSeconds: 60 }],
  ])('%s', (raw, stage) => {
    expect(parseStageSpec(raw)).toEqual(stage);
  });

  it.each([
    ['qa', /must be COHORT:PERCENT/],
    ['qa:10:60:auto:x', /must be COHORT:PERCENT/],
    ['QA:10', /is not a cohort name/],
    [':10', /is not a cohort name/],
    ['qa:', /the percentage in --stage "qa:" must be a number/],
    ['all:0.123', /more than 2 decimals/],
    ['all:101', /at most 100/],
    ['all:10:1h', /whole seconds/],
    ['all:10:-5', /whole seconds/],
    ['all:10:31536001', /whole seconds/],
    ['all:10:60:yes', /can only be "auto"/],
  ])('refuses %j', (raw, why) => {
    expect(() => parseStageSpec(raw)).toThrow(why);
  });
});

describe('parseAttributes: key=value strings, key:=value integers and booleans', () => {
  it.each([
    [['region=eu'], { region: 'eu' }],
    [['region=eu', 'region=us'], { region: ['eu', 'us'] }],
    [['region=eu', 'region=eu'], { region: 'eu' }],
    [['tier:=2', 'beta:=true', 'label=a=b'], { tier: 2, beta: true, label: 'a=b' }],
    [['code=1'], { code: '1' }],
    [['empty='], { empty: '' }],
  ])('%j', (specs, attributes) => {
    expect(parseAttributes(specs)).toEqual(attributes);
  });

  it.each([['region'], ['=eu'], ['tier:=two'], ['tier:=1.5']])('refuses %j', (spec) => {
    expect(() => parseAttributes([spec])).toThrow(/--attribute/);
  });
});
