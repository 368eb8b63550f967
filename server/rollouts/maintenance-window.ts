/**
 * Maintenance windows (protocol §7 fleet lifecycle): a stage may carry
 * `window: { days?: [mon..sun], start: "HH:MM", end: "HH:MM", timeZone }`;
 * installs may start only inside it. Pure functions of (window, now), so the
 * native poll (`installAfter`), the DDI gateway (`update: "skip"`) and the
 * CLI and dashboard (the next opening in words) share one rule.
 *
 * - `timeZone` is an IANA name (`Europe/Berlin`) or `UTC`; wall times are
 *   read with Intl, so daylight-saving changes move the window with the
 *   local clock.
 * - `days` are the days the window OPENS on (local); absent = every day.
 * - `end` after `start`: the window closes that day; `end` before `start`:
 *   it runs past midnight into the next day; `end` equal to `start`: it
 *   lasts 24 hours.
 * - A local time that does not exist (the hour skipped when clocks go
 *   forward) is moved forward by the length of the gap (02:30 → 03:30);
 *   one that exists twice (clocks go back) is the earlier one — the
 *   `compatible` disambiguation of ECMAScript Temporal and of RFC 5545.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  days?: Weekday[];
  /** Local opening time, "HH:MM" (24-hour). */
  start: string;
  /** Local closing time, "HH:MM" (24-hour). */
  end: string;
  /** IANA time zone name, or "UTC". */
  timeZone: string;
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the time zone (the schema checks the shape; this, the name). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The problems of a window beyond its shape (an unknown time zone, a bad time), as messages; empty = valid. */
export function windowProblems(w: MaintenanceWindow): string[] {
  const problems: string[] = [];
  if (!HHMM.test(w.start)) problems.push(`start "${w.start}" is not HH:MM`);
  if (!HHMM.test(w.end)) problems.push(`end "${w.end}" is not HH:MM`);
  if (!isTimeZone(w.timeZone)) problems.push(`"${w.timeZone}" is not a time zone Intl knows (an IANA name such as Europe/Berlin, or UTC)`);
  if (w.days && (w.days.length === 0 || w.days.some((d) => !WEEKDAYS.includes(d)))) problems.push('days must be a non-empty list of mon, tue, wed, thu, fri, sat, sun');
  return problems;
}

/** The local wall clock of instant `t` in the zone, as if it were UTC (ms). */
function wallOf(t: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterOf(timeZone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day as number, parts.hour as number, parts.minute as number, parts.second as number);
}

const offsetAt = (t: number, timeZone: string): number => wallOf(t, timeZone) - Math.floor(t / 1000) * 1000;

/** The instant a local wall time (as UTC ms) happens in the zone, Temporal `compatible`: gaps forward, overlaps earlier. */
export function instantOfWall(wall: number, timeZone: string): number {
  const before = offsetAt(wall - DAY_MS / 2, timeZone);
  const after = offsetAt(wall + DAY_MS / 2, timeZone);
  const candidates = [...new Set([before, after])].map((o) => wall - o).filter((t) => wallOf(t, timeZone) === wall).sort((a, b) => a - b);
  // No candidate: the wall time falls in a gap; the offset before it lands after the gap, shifted by its length.
  return candidates[0] ?? wall - before;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The openings and closings of the window that could contain or follow `now`, oldest first. */
function occurrences(w: MaintenanceWindow, now: number): { open: number; close: number }[] {
  const startMin = minutesOf(w.start);
  const endMin = minutesOf(w.end);
  const spansDays = endMin <= startMin ? 1 : 0;
  const today = Math.floor(wallOf(now, w.timeZone) / DAY_MS) * DAY_MS;
  const out: { open: number; close: number }[] = [];
  // From yesterday (a window open since yesterday evening) to eight days on (a weekly window).
  for (let d = -1; d <= 8; d++) {
    const day = today + d * DAY_MS;
    // 1970-01-01 was a Thursday: index into WEEKDAYS (Monday first).
    const weekday = WEEKDAYS[(Math.floor(day / DAY_MS) + 3) % 7] as Weekday;
    if (w.days && !w.days.includes(weekday)) continue;
    const open = instantOfWall(day + startMin * 60_000, w.timeZone);
    const close = instantOfWall(day + spansDays * DAY_MS + endMin * 60_000, w.timeZone);
    out.push({ open, close: close > open ? close : open + DAY_MS });
  }
  return out;
}

/** Whether installs may start at `now`. */
export function isInWindow(w: MaintenanceWindow, now: Date): boolean {
  const t = now.getTime();
  return occurrences(w, t).some((o) => o.open <= t && t < o.close);
}

/**
 * When installs may next start: `null` while the window is open at `now`,
 * else the next opening (what an offer's `installAfter` carries, and what
 * DDI's `update: "skip"` waits for).
 */
export function nextWindowOpening(w: MaintenanceWindow, now: Date): Date | null {
  const t = now.getTime();
  const all = occurrences(w, t);
  if (all.some((o) => o.open <= t && t < o.close)) return null;
  const next = all.find((o) => o.open > t);
  // Unreachable for a valid window (some day of every week is listed); kept total for the type.
  return next ? new Date(next.open) : null;
}

/** When the window (open at `now`) closes; null when it is not open. */
export function windowClosesAt(w: MaintenanceWindow, now: Date): Date | null {
  const t = now.getTime();
  const open = occurrences(w, t).find((o) => o.open <= t && t < o.close);
  return open ? new Date(open.close) : null;
}

const daysText = (w: MaintenanceWindow): string => (w.days ? w.days.join(', ') : 'every day');

/** The window in words: "mon, tue 22:00–04:00 Europe/Berlin". */
export const describeWindow = (w: MaintenanceWindow): string => `${daysText(w)} ${w.start}–${w.end} ${w.timeZone}`;

/** What a person needs: is it open, and if not, when it opens (UTC and local). */
export function windowInWords(w: MaintenanceWindow, now: Date): string {
  const next = nextWindowOpening(w, now);
  if (next === null) {
    const closes = windowClosesAt(w, now) as Date;
    return `open now (${describeWindow(w)}); closes ${closes.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  }
  const local = new Date(wallOf(next.getTime(), w.timeZone)).toISOString().slice(0, 16).replace('T', ' ');
  const hours = (next.getTime() - now.getTime()) / 3_600_000;
  const inText = hours < 1 ? `${Math.ceil(hours * 60)} min` : hours < 48 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(hours / 24)} days`;
  return `closed; installs may start at ${next.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${local} ${w.timeZone}, in ${inText}); window ${describeWindow(w)}`;
}
