import { describe, expect, it } from 'vitest';
import { instantOfWall, isInWindow, nextWindowOpening, windowInWords, windowProblems, type MaintenanceWindow } from '../../server/rollouts/maintenance-window.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => (d === null ? null : d.toISOString().replace('.000Z', 'Z'));

describe('nextWindowOpening(window, now): protocol §7 maintenance windows', () => {
  it.each<[string, MaintenanceWindow, string, string | null]>([
    ['UTC, before the window', { start: '02:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T01:00:00Z', '2026-11-24T02:00:00Z'],
    ['UTC, inside: open now', { start: '02:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T03:59:59Z', null],
    ['UTC, at the opening minute: open', { start: '02:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T02:00:00Z', null],
    ['UTC, at the close: next day', { start: '02:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T04:00:00Z', '2026-11-25T02:00:00Z'],
    ['past midnight, open since yesterday evening', { start: '22:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T01:00:00Z', null],
    ['past midnight, closed in the day', { start: '22:00', end: '04:00', timeZone: 'UTC' }, '2026-11-24T12:00:00Z', '2026-11-24T22:00:00Z'],
    ['start = end: 24 hours from the opening', { start: '06:00', end: '06:00', timeZone: 'UTC', days: ['mon'] }, '2026-11-24T05:00:00Z', null],
    ['weekdays only, on a Saturday (2026-11-28)', { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '01:00', end: '05:00', timeZone: 'UTC' }, '2026-11-28T02:00:00Z', '2026-11-30T01:00:00Z'],
    ['one day a week, the day after', { days: ['tue'], start: '01:00', end: '02:00', timeZone: 'UTC' }, '2026-11-25T00:00:00Z', '2026-12-01T01:00:00Z'],
    ['a named zone in winter (CET = UTC+1)', { start: '02:00', end: '04:00', timeZone: 'Europe/Berlin' }, '2026-11-24T12:00:00Z', '2026-11-25T01:00:00Z'],
    ['a named zone in summer (CEST = UTC+2)', { start: '02:00', end: '04:00', timeZone: 'Europe/Berlin' }, '2026-07-01T12:00:00Z', '2026-07-02T00:00:00Z'],
    ['the local weekday, not the UTC one (Tokyo Monday 01:00 is Sunday 16:00 UTC)', { days: ['mon'], start: '01:00', end: '03:00', timeZone: 'Asia/Tokyo' }, '2026-11-29T12:00:00Z', '2026-11-29T16:00:00Z'],
    ['a half-hour zone (Asia/Kolkata, UTC+5:30)', { start: '00:00', end: '01:00', timeZone: 'Asia/Kolkata' }, '2026-11-24T12:00:00Z', '2026-11-24T18:30:00Z'],
    // DST: Europe/Berlin springs forward 2026-03-29 02:00 → 03:00; 02:30 does not exist that night.
    ['DST gap: an opening in the skipped hour moves forward by the gap (02:30 → 03:30 CEST)', { start: '02:30', end: '04:00', timeZone: 'Europe/Berlin' }, '2026-03-28T23:00:00Z', '2026-03-29T01:30:00Z'],
    ['DST spring: the day after opens at the new offset', { start: '02:30', end: '04:00', timeZone: 'Europe/Berlin' }, '2026-03-29T12:00:00Z', '2026-03-30T00:30:00Z'],
    // Europe/Berlin falls back 2026-10-25 03:00 → 02:00; 02:30 happens twice: the earlier one opens it.
    ['DST overlap: the earlier of the two 02:30', { start: '02:30', end: '05:00', timeZone: 'Europe/Berlin' }, '2026-10-24T12:00:00Z', '2026-10-25T00:30:00Z'],
    ['DST fall: the window lasts an hour longer in UTC', { start: '02:30', end: '05:00', timeZone: 'Europe/Berlin' }, '2026-10-25T03:30:00Z', null],
    // America/New_York springs forward 2026-03-08 02:00 EST → 03:00 EDT.
    ['US DST gap: 02:30 opens at 03:30 EDT', { start: '02:30', end: '06:00', timeZone: 'America/New_York' }, '2026-03-08T05:00:00Z', '2026-03-08T07:30:00Z'],
  ])('%s', (_what, window, now, expected) => {
    expect(iso(nextWindowOpening(window, at(now)))).toBe(expected);
    expect(isInWindow(window, at(now))).toBe(expected === null);
  });

  it('never answers a time in the past, and the answer is itself inside the window (a sweep over a year every 23 hours, in three zones)', () => {
    for (const timeZone of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney']) {
      const w: MaintenanceWindow = { days: ['tue', 'sat'], start: '02:30', end: '03:15', timeZone };
      for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 3_600_000 * 23) {
        const next = nextWindowOpening(w, new Date(t));
        if (next === null) continue;
        expect(next.getTime()).toBeGreaterThan(t);
        expect(isInWindow(w, next)).toBe(true);
        expect(next.getTime() - t).toBeLessThanOrEqual(8 * 86_400_000);
      }
    }
  });

  it('instantOfWall: ordinary, gap and overlap wall times', () => {
    expect(iso(new Date(instantOfWall(Date.UTC(2026, 0, 15, 12, 0), 'Europe/Berlin')))).toBe('2026-01-15T11:00:00Z');
    expect(iso(new Date(instantOfWall(Date.UTC(2026, 2, 29, 2, 30), 'Europe/Berlin')))).toBe('2026-03-29T01:30:00Z');
    expect(iso(new Date(instantOfWall(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Berlin')))).toBe('2026-10-25T00:30:00Z');
  });

  it('says in words when the next window opens, in UTC and local time', () => {
    const w: MaintenanceWindow = { days: ['sat', 'sun'], start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' };
    expect(windowInWords(w, at('2026-11-24T12:00:00Z'))).toBe(
      'closed; installs may start at 2026-11-28T01:00:00Z (2026-11-28 02:00 Europe/Berlin, in 4 days); window sat, sun 02:00–05:00 Europe/Berlin');
    expect(windowInWords(w, at('2026-11-28T02:00:00Z'))).toBe('open now (sat, sun 02:00–05:00 Europe/Berlin); closes 2026-11-28T04:00:00Z');
  });

  it('names what is wrong with a window', () => {
    expect(windowProblems({ start: '02:00', end: '04:00', timeZone: 'Europe/Berlin' })).toEqual([]);
    expect(windowProblems({ start: '24:00', end: '4:00', timeZone: 'Mars/Olympus', days: [] })).toHaveLength(4);
  });
});
