/**
 * Cron schedules, pure: parse an expression once, then ask for fire times. croner does the
 * matching; this module adds the checks pmon3 wants and one DST rule croner lacks (below).
 */
import { Cron, CronPattern } from 'croner';
import { invalidArgument } from '../protocol/errors';

/** A parsed cron schedule. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expr: string;
  /** IANA timezone, or undefined (pmond's local time). */
  readonly timezone: string | undefined;
  /** The first fire time strictly after `after` (epoch ms), or null if there is none. */
  next(after: number): number | null;
}

/** Formatters by timezone name ('' = local), kept by a caller that parses many schedules. */
export type ZoneCache = Map<string, { zone: string; offsets: Intl.DateTimeFormat }>;

/** The longest expression taken: far more than any real one, short enough to echo in an error. */
export const MAX_CRON_LENGTH = 128;

/**
 * How many missed fire times planAfterDowntime counts at most. The count only goes into a log
 * line, and each costs a next() (~0.1 ms): at 1000, a user's hundreds of every-second apps held
 * pmond's boot for tens of seconds (found in review); at 60, 1000 such apps cost ~6 s.
 */
export const MAX_MISSED = 60;

// The nicknames operators use; @reboot is not a time, so it is not here.
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const HOUR = 3_600_000;
// Farther than any DST shift (at most 2 h), nearer than two transitions ever are.
const LOOK = 3 * HOUR;
// Bounds the skip loop in next(): one jump leaves a repeat, so a few turns are plenty.
const MAX_STEPS = 8;

// Control characters, and the Unicode line breaks: an error message stays one line.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** s fit to quote in a one-line message: short, no control characters. */
function printable(s: string): string {
  const t = s.replace(new RegExp(CONTROL.source, 'g'), '?');
  return t.length > 40 ? `${t.slice(0, 40)}...` : t;
}

/** Parse a 5-field (minute first) or 6-field (seconds first) cron expression; anything else, or an unknown timezone, throws invalidArgument with one line: `cron "EXPR": why`. */
export function parseCron(expr: string, timezone?: string, zones?: ZoneCache): CronSchedule {
  const bad = (why: string): Error => invalidArgument(`cron "${printable(expr)}": ${why}`);
  if (expr.length > MAX_CRON_LENGTH) throw bad(`longer than ${MAX_CRON_LENGTH} characters`);
  if (CONTROL.test(expr)) throw bad('contains a control character');
  let pattern = expr.trim();
  if (pattern.startsWith('@')) {
    const n = NICKNAMES[pattern.toLowerCase()];
    if (pattern.toLowerCase() === '@reboot') throw bad('@reboot is not a time (only @yearly @annually @monthly @weekly @daily @hourly are)');
    if (!n) throw bad(`unknown nickname (use ${Object.keys(NICKNAMES).join(' ')})`);
    pattern = n;
  }
  const fields = pattern.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5 && fields.length !== 6) throw bad(`has ${fields.length} fields, want 5 (minute first) or 6 (seconds first)`);
  // ':' makes croner read a date, '?' is replaced by the time of parsing: neither is a schedule.
  const odd = /[^0-9A-Za-z*,/#-]/.exec(fields.join(''));
  if (odd) throw bad(`"${odd[0]}" is not allowed`);
  if (timezone === '') throw bad('an empty timezone (leave it out for pmond\'s local time)');
  // Making a formatter costs about a millisecond: a caller parsing many (pmond, 1000 apps) keeps them.
  const known = zones?.get(timezone ?? '');
  const zone = known?.zone ?? timezone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
  let offsets: Intl.DateTimeFormat;
  try {
    offsets =
      known?.offsets ??
      new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    throw bad(`unknown timezone "${printable(timezone ?? '')}"`);
  }
  if (zones && !known && zones.size < 1024) zones.set(timezone ?? '', { zone, offsets });
  let cron: Cron;
  let everyHour: boolean;
  try {
    const text = fields.join(' ');
    const pattern = new CronPattern(text, zone);
    everyHour = pattern.hour.every((h) => h === 1);
    if (!canFire(pattern)) throw new Error('names no day that exists (a day past the end of every month given): it would never run');
    // Matched on the wall clock written as UTC (utcOffset 0), converted to an instant here: croner's
    // own timezone mode costs about 0.7 ms of pmond's one thread per next(), this about 0.05 ms.
    cron = new Cron(text, { utcOffset: 0, paused: true, legacyMode: true });
  } catch (e) {
    throw bad(String((e as Error).message).replace(/^CronPattern: /, '').split('\n')[0] ?? 'invalid');
  }
  const zoneOf: Zone = { f: offsets, fallBack: null };
  // croner's own timezone mode, made only if ever needed: a zone whose offset jumped by more than
  // a DST shift (Samoa skipped 30 Dec 2011) defeats our conversion, and null would end the schedule.
  let slow: Cron | undefined;
  const fallback = (after: number): number | null => {
    slow ??= new Cron(fields.join(' '), { timezone: zone, paused: true, legacyMode: true });
    const t = slow.nextRun(new Date(after))?.getTime();
    return t === undefined || t <= after ? null : t;
  };
  return {
    expr,
    timezone,
    next: (after) => {
      const t = nextAfter(cron, zoneOf, everyHour, after);
      return t === null || t <= after ? fallback(after) : t;
    },
  };
}

/**
 * croner's next wall time after instant `after`, as an instant in the zone. A wall time the clock
 * passes twice (fall-back) is its first instant; one the spring-forward skips is moved forward
 * by the gap (as croner's timezone mode does).
 */
function nextWall(cron: Cron, f: Intl.DateTimeFormat, after: number): number | null {
  const now = offsetAt(f, after);
  const then = offsetAt(f, after - LOOK);
  if (then < now) {
    // Just after a spring-forward, wall times in its gap ("0,30 2": 02:30) are instants still
    // ahead (03:30) that the wall clock now (03:00) has passed: searched from the old clock's
    // reading, candidates at or before `after` passed over; none within a few: the plain search.
    let from = after + then;
    for (let k = 0; k < MAX_STEPS; k++) {
      const w = cron.nextRun(new Date(from))?.getTime();
      if (w === undefined) break;
      const i = wallToInstant(f, w);
      if (i > after) return i;
      from = w;
    }
  }
  // A repeated wall time comes back as its first instant, which may be passed: firstOccurrence decides.
  const w = cron.nextRun(new Date(after + now))?.getTime();
  return w === undefined ? null : wallToInstant(f, w);
}

/** Wall time w (written as UTC) as an instant in the zone (nextWall's rules). */
function wallToInstant(f: Intl.DateTimeFormat, w: number): number {
  // w read as an instant is up to 14 h off (the offset); g, with w's offset taken off, is within
  // one DST shift of the instant. The offsets before and after any transition near it (none is
  // nearer to another than LOOK).
  const g = w - offsetAt(f, w);
  const oA = offsetAt(f, g - LOOK);
  const iA = w - oA;
  if (offsetAt(f, iA) === oA) return iA;
  const oB = offsetAt(f, g + LOOK);
  const iB = w - oB;
  if (offsetAt(f, iB) === oB) return iB;
  return iA; // in the gap: the old offset's instant, which reads gap later on the new clock
}

/** Longest month, by index 0-11 (February: 29, a leap year's). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a pattern names some day that exists. Only a day of month past the end of every month
 * listed ("0 0 30 2 *", "0 0 31 4,6 *") never does; croner would search years for it on every
 * next() (tens of ms of pmond's one thread each), so it is refused when parsed. Days of the week
 * (legacy OR), `L`, or any day with a month long enough: it fires.
 */
function canFire(p: CronPattern): boolean {
  if (p.starDOM || !p.starDOW || p.lastDayOfMonth) return true;
  return p.month.some((on, m) => on === 1 && p.day.some((d, i) => d === 1 && i + 1 <= MONTH_DAYS[m]!));
}

/** A zone's formatter, and the fall-back transition found last (chained calls near one ask again and again). */
interface Zone {
  f: Intl.DateTimeFormat;
  fallBack: { at: number; delta: number } | null;
}

/** The zone's UTC offset at instant t, in ms (wall clock minus UTC). */
function offsetAt(f: Intl.DateTimeFormat, t: number): number {
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(t)) p[x.type] = Number(x.value);
  const wall = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return wall - Math.floor(t / 1000) * 1000;
}

/**
 * croner walks the wall clock, so a wall time the fall-back repeats comes out once, at one of its
 * two instants (which one depends on the zone). Our rule, like Vixie cron's: a repeated wall time
 * fires at its first instant; a schedule that runs every hour fires at the second as well (it is
 * meant to run each real hour: 25 on that day); one at a fixed hour does not fire twice. A wall
 * time the spring-forward skips fires when croner says: shifted forward by the gap.
 */
function nextAfter(cron: Cron, z: Zone, everyHour: boolean, after: number): number | null {
  const first = firstOccurrence(cron, z, after);
  if (!everyHour) return first;
  const fb = fallBackNear(z, after);
  if (!fb || after < fb.at - fb.delta || after >= fb.at + fb.delta) return first;
  // The repeat's instants are the first window's, delta later.
  const m = firstOccurrence(cron, z, Math.max(after - fb.delta, fb.at - fb.delta - 1));
  if (m === null || m >= fb.at) return first;
  return first === null ? m + fb.delta : Math.min(first, m + fb.delta);
}

/** The next fire time after `after` that is not the second instant of a repeated wall time. */
function firstOccurrence(cron: Cron, z: Zone, after: number): number | null {
  const f = z.f;
  let cur = after;
  for (let i = 0; i < MAX_STEPS; i++) {
    const c = nextWall(cron, f, cur);
    if (c === null) return null;
    const o = offsetAt(f, c);
    const before = offsetAt(f, c - LOOK);
    const x = c - (before - o);
    const repeated = before > o && offsetAt(f, x) === before;
    if (repeated && x > after) return x;
    if (!repeated && c > after) return c;
    // Passed, or a second instant: `after` is in a repeat, whose wall times all came already
    // (first instants) or do not count (second ones), so look on from its last second.
    const fb = fallBackNear(z, after);
    cur = fb && after < fb.at + fb.delta ? Math.max(c, fb.at + fb.delta - 1000) : c;
  }
  return null; // not reached: the jump leaves the repeat, and croner's wall clock only goes forward
}

/** A fall-back transition within LOOK of t: its instant and how far the clock goes back. */
function fallBackNear(z: Zone, t: number): { at: number; delta: number } | null {
  if (z.fallBack && Math.abs(z.fallBack.at - t) < LOOK) return z.fallBack;
  const f = z.f;
  // Whole seconds: offsetAt has second resolution, and zones change on whole minutes.
  let lo = Math.floor((t - LOOK) / 1000) * 1000;
  let hi = lo + 2 * LOOK;
  const oLo = offsetAt(f, lo);
  const oHi = offsetAt(f, hi);
  if (oLo <= oHi) return null;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(f, mid) === oLo) lo = mid;
    else hi = mid;
  }
  return (z.fallBack = { at: hi, delta: oLo - oHi });
}

/** What a schedule does when armed again after pmond was away: the persisted next run time and now. */
export function planAfterDowntime(s: CronSchedule, persistedNext: number | null, now: number, catchUp: 'none' | 'once'): { runNow: boolean; missed: number; next: number | null } {
  if (persistedNext === null) return { runNow: false, missed: 0, next: s.next(now) };
  if (persistedNext > now) return { runNow: false, missed: 0, next: persistedNext };
  // persistedNext was due and never ran: it counts, then every time after it up to now.
  let missed = 1;
  for (let t = s.next(persistedNext); t !== null && t <= now && missed < MAX_MISSED; t = s.next(t)) missed++;
  return { runNow: catchUp === 'once', missed, next: s.next(now) };
}
