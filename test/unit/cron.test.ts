import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cron } from 'croner';
import { parseCron, planAfterDowntime, MAX_MISSED } from '../../internal/schedule/cron';
import { armAt, MAX_TIMEOUT_MS, TimerGroups, TURN_MAX } from '../../internal/schedule/timer';
import type { Clock } from '../../internal/supervisor/clock';
import { FakeClock } from '../helpers/fakes';

const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);
const isoOf = (t: number): string => new Date(t).toISOString();

/** The fire times in [from, to), chained from next(), each checked to be later than the one before. */
function fires(expr: string, tz: string | undefined, from: string, to: string): number[] {
  const s = parseCron(expr, tz);
  const out: number[] = [];
  for (let t = at(from) - 1, n = s.next(t); n !== null && n < at(to); t = n, n = s.next(t)) {
    assert.ok(n > t, `${expr}: ${isoOf(n)} is not after ${isoOf(t)}`);
    out.push(n);
  }
  return out;
}

/** A Clock over fake that throws on any delay setTimeout would not take as given (so no overflow). */
function strictClock(fake: FakeClock): Clock {
  return {
    now: () => fake.now(),
    setTimeout: (fn, ms) => {
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMEOUT_MS) throw new Error(`setTimeout(${ms})`);
      return fake.setTimeout(fn, ms);
    },
  };
}

test('5 fields are minute first, 6 fields seconds first', () => {
  const t = at('2026-05-01T10:00:00.000Z');
  assert.equal(isoOf(parseCron('*/15 * * * *', 'UTC').next(t)!), '2026-05-01T10:15:00.000Z');
  assert.equal(isoOf(parseCron('30 */15 * * * *', 'UTC').next(t)!), '2026-05-01T10:00:30.000Z');
  // every second: the next whole second, strictly after
  const s = parseCron('* * * * * *', 'UTC');
  for (const x of [t, t + 1, t + 499, t + 999, t + 1000]) assert.equal(s.next(x), Math.floor(x / 1000) * 1000 + 1000);
  assert.equal(s.expr, '* * * * * *');
  assert.equal(s.timezone, 'UTC');
  assert.equal(parseCron('0 0 * * *').timezone, undefined);
});

test('seconds through a repeated hour: every real second if every hour, else the first hour only', () => {
  // 9 fires a minute; Berlin repeats 02:00-03:00 from 00:00Z to 02:00Z on 2026-10-25
  const all = fires('*/7 * * * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', '2026-10-25T02:00:00Z');
  assert.equal(all.length, 3 * 60 * 9);
  assert.equal(new Set(all).size, all.length);
  const two = fires('*/7 * 2 * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', '2026-10-25T02:00:00Z');
  assert.equal(two.length, 60 * 9);
  assert.ok(two.every((t) => t < at('2026-10-25T01:00:00Z')));
  // New York repeats 01:00-02:00 from 05:00Z to 07:00Z on 2026-11-01
  const one = fires('*/7 * 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z');
  assert.equal(one.length, 60 * 9);
  assert.ok(one.every((t) => t >= at('2026-11-01T05:00:00Z') && t < at('2026-11-01T06:00:00Z')));
  // armed in the second hour of the repeat: on to 02:00 the next day, not null
  assert.equal(isoOf(parseCron('*/7 * 2 * * *', 'Europe/Berlin').next(at('2026-10-25T01:17:21Z'))!), '2026-10-26T01:00:00.000Z');
});

test('bad expressions are rejected with one line naming the expression', () => {
  const cases: Array<[string, string | undefined, RegExp]> = [
    ['* * * * * * *', undefined, /7 fields/],
    ['* * * *', undefined, /4 fields/],
    ['', undefined, /0 fields/],
    ['   ', undefined, /0 fields/],
    ['61 * * * *', undefined, /minute/],
    ['* * * * *\n', undefined, /control character/],
    ['*\t* * * *', undefined, /control character/],
    ['* * *\u0000 * *', undefined, /control character/],
    ['*'.repeat(10_000), undefined, /longer than 128/],
    ['* * * * *', 'Mars/Olympus', /unknown timezone "Mars\/Olympus"/],
    ['@reboot', undefined, /@reboot/],
    ['@fortnightly', undefined, /nickname/],
    ['* * * * 1:2', undefined, /":"/], // croner would read a date
    ['0 0 12 ? * MON', undefined, /"\?"/], // croner would put in the time of parsing
  ];
  for (const [expr, tz, why] of cases) {
    assert.throws(
      () => parseCron(expr, tz),
      (e: any) => {
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, /^cron ".*": /);
        assert.match(e.message, why);
        assert.ok(!/[\x00-\x1f]/.test(e.message) && e.message.length < 200, JSON.stringify(e.message));
        return true;
      },
      JSON.stringify(expr),
    );
  }
});

test('nicknames @yearly @annually @monthly @weekly @daily @hourly', () => {
  const t = at('2026-05-13T10:20:00Z'); // a Wednesday
  const want: Record<string, string> = {
    '@yearly': '2027-01-01T00:00:00.000Z',
    '@annually': '2027-01-01T00:00:00.000Z',
    '@monthly': '2026-06-01T00:00:00.000Z',
    '@weekly': '2026-05-17T00:00:00.000Z',
    '@daily': '2026-05-14T00:00:00.000Z',
    '@HOURLY': '2026-05-13T11:00:00.000Z',
  };
  for (const [nick, next] of Object.entries(want)) assert.equal(isoOf(parseCron(nick, 'UTC').next(t)!), next, nick);
});

test('day of month and day of week are OR-ed, like Vixie cron', () => {
  const got = fires('0 0 13 * 5', 'UTC', '2026-03-01T00:00:00Z', '2026-03-21T00:00:00Z').map(isoOf);
  assert.deepEqual(got, ['2026-03-06T00:00:00.000Z', '2026-03-13T00:00:00.000Z', '2026-03-20T00:00:00.000Z']);
});

test('DST, Europe/Berlin: hourly fires 23 times on the short day and 25 on the long one', () => {
  // local days: 2026-03-29 is 23 h long (02:00 CET -> 03:00 CEST), 2026-10-25 is 25 h (03:00 CEST -> 02:00 CET)
  const short = fires('0 * * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z');
  const long = fires('0 * * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
  assert.equal(short.length, 23);
  assert.equal(long.length, 25);
  for (const xs of [short, long]) assert.equal(new Set(xs).size, xs.length);
  // every real hour of the long day, the repeated 02:00 included
  assert.deepEqual(long, Array.from({ length: 25 }, (_, i) => at('2026-10-24T22:00:00Z') + i * 3_600_000));
});

test('DST, Europe/Berlin: 02:30 daily on the day it does not exist, and on the day it happens twice', () => {
  // 2026-03-29 02:30 does not exist: croner shifts it forward by the gap, to 03:30 CEST
  // (01:30 UTC). Once, never twice; the next day is 02:30 CEST as usual.
  const gap = fires('30 2 * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-30T22:00:00Z').map(isoOf);
  assert.deepEqual(gap, ['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  assert.ok(gap.filter((t) => t.startsWith('2026-03-29')).length <= 1);
  // 2026-10-25 02:30 happens twice: it fires once, at the first (02:30 CEST, 00:30 UTC)
  const twice = fires('30 2 * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z').map(isoOf);
  assert.deepEqual(twice, ['2026-10-25T00:30:00.000Z']);
  // armed in the repeated hour after the first 02:30 passed: not again that day
  assert.equal(isoOf(parseCron('30 2 * * *', 'Europe/Berlin').next(at('2026-10-25T01:10:00Z'))!), '2026-10-26T01:30:00.000Z');
});

test('the wall clock matched as UTC gives the answer of croner timezone mode away from DST changes, in zones with odd offsets', () => {
  // pmon3 matches the wall clock (croner with utcOffset 0) and converts to an instant itself, for
  // speed; croner's timezone mode is the reference. Near a transition (3 h) our DST rule decides instead.
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/St_Johns', 'Asia/Kathmandu', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'];
  const exprs = ['0 */5 * * * *', '30 2 * * *', '0 0 * * 0', '15 3 L * *', '0 12 * * 1#2', '59 23 31 12 *'];
  let seed = 7;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const from = at('2026-01-01T00:00:00Z');
  let compared = 0;
  for (const tz of zones) {
    const offset = (t: number): string => new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).format(t);
    const nearChange = (t: number): boolean => offset(t - 3 * 3_600_000) !== offset(t + 3 * 3_600_000);
    for (const expr of exprs) {
      const ours = parseCron(expr, tz);
      const ref = new Cron(expr, { timezone: tz, paused: true, legacyMode: true });
      for (let i = 0; i < 60; i++) {
        const t = from + Math.floor(rand() * 365 * DAY);
        const a = ours.next(t);
        const b = ref.nextRun(new Date(t))?.getTime() ?? null;
        assert.ok(a !== null && a > t, `${tz} ${expr} after ${isoOf(t)}: ${a}`);
        if (a !== b && (nearChange(a) || (b !== null && nearChange(b)))) continue;
        assert.equal(isoOf(a), b === null ? null : isoOf(b), `${tz} "${expr}" after ${isoOf(t)}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 3000, `compared ${compared}`);
});

test('DST, America/New_York: 01:30 once on the long day, hourly 25 times', () => {
  // 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00 UTC; local day is 04:00Z .. 05:00Z next day
  assert.deepEqual(fires('30 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z').map(isoOf), ['2026-11-01T05:30:00.000Z']);
  const long = fires('0 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z');
  assert.equal(long.length, 25);
  assert.equal(fires('0 * * * *', 'America/New_York', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z').length, 23);
});

test('a schedule whose times end: next() is null past the last', () => {
  // A @yearly past year 9999 is not a case; a pattern never matching is refused at parse (below).
  assert.equal(typeof parseCron('0 0 1 1 *', 'UTC').next(at('2026-01-01T00:00:00Z')), 'number');
});

test('planAfterDowntime: nothing persisted, next in the future, missed with and without catch-up', () => {
  const s = parseCron('0 * * * *', 'UTC');
  const now = at('2026-05-01T10:30:00Z');
  assert.deepEqual(planAfterDowntime(s, null, now, 'once'), { runNow: false, missed: 0, next: at('2026-05-01T11:00:00Z') });
  assert.deepEqual(planAfterDowntime(s, at('2026-05-01T11:00:00Z'), now, 'once'), { runNow: false, missed: 0, next: at('2026-05-01T11:00:00Z') });
  // 07:00 (the persisted one), 08, 09, 10
  const missed = { missed: 4, next: at('2026-05-01T11:00:00Z') };
  assert.deepEqual(planAfterDowntime(s, at('2026-05-01T07:00:00Z'), now, 'none'), { runNow: false, ...missed });
  assert.deepEqual(planAfterDowntime(s, at('2026-05-01T07:00:00Z'), now, 'once'), { runNow: true, ...missed });
  // due exactly now: it counts, and the next is after now
  assert.deepEqual(planAfterDowntime(s, at('2026-05-01T11:00:00Z'), at('2026-05-01T11:00:00Z'), 'once'), { runNow: true, missed: 1, next: at('2026-05-01T12:00:00Z') });
});

test('planAfterDowntime: missed is capped, so every second down a week stays cheap', () => {
  const s = parseCron('* * * * * *', 'UTC');
  const down = at('2026-05-01T00:00:00Z');
  const started = Date.now();
  const p = planAfterDowntime(s, down, down + 7 * DAY, 'once');
  assert.equal(MAX_MISSED, 60);
  assert.deepEqual(p, { runNow: true, missed: 60, next: down + 7 * DAY + 1000 });
  assert.ok(Date.now() - started < 5000);
});

test('armAt: 40 days away fires once, at the time, in steps setTimeout takes', () => {
  const fake = new FakeClock();
  const clock = strictClock(fake);
  let fired = 0;
  armAt(clock, fake.now() + 40 * DAY, () => fired++);
  fake.advance(39 * DAY);
  assert.equal(fired, 0);
  fake.advance(DAY - 1);
  assert.equal(fired, 0);
  fake.advance(1);
  assert.equal(fired, 1);
  fake.advance(100 * DAY);
  assert.equal(fired, 1);
  assert.equal(fake.pending(), 0);
});

test('TimerGroups: one timer per time, all its fns in one turn in the order armed; cancel drops one, the last cancel the timer; a throw costs the others nothing', () => {
  const fake = new FakeClock();
  const g = new TimerGroups(strictClock(fake));
  const t = fake.now() + 1000;
  const order: string[] = [];
  g.at(t, () => order.push('a'));
  const b = g.at(t, () => order.push('b'));
  g.at(t, () => {
    throw new Error('c');
  });
  g.at(t, () => order.push('d'));
  const later = g.at(t + 40 * DAY, () => order.push('far'));
  assert.equal(g.size, 2);
  assert.equal(fake.pending(), 2);
  b.cancel();
  b.cancel(); // twice: nothing more
  fake.advance(999);
  assert.equal(order.length, 0);
  fake.advance(1);
  assert.deepEqual(order, ['a', 'd']);
  assert.equal(g.size, 1);
  later.cancel();
  assert.equal(g.size, 0);
  assert.equal(fake.pending(), 0);
  // armed again at a time already used: a new timer, fired once
  g.at(t, () => order.push('again'));
  fake.advance(0);
  fake.advance(1000);
  assert.deepEqual(order, ['a', 'd', 'again']);
});

test('TimerGroups: more than TURN_MAX due at once go in turns; one cancelled while it waits for its turn is not called', async () => {
  const fake = new FakeClock();
  const g = new TimerGroups(strictClock(fake));
  const t = fake.now() + 10;
  const called: number[] = [];
  const handles = Array.from({ length: 2 * TURN_MAX + 5 }, (_, i) => g.at(t, () => called.push(i)));
  fake.advance(10);
  assert.equal(called.length, TURN_MAX);
  handles[TURN_MAX + 1]!.cancel();
  await new Promise<void>((r) => setImmediate(r));
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(called.length, 2 * TURN_MAX + 4);
  assert.ok(!called.includes(TURN_MAX + 1));
  assert.deepEqual(called, [...called].sort((a, b) => a - b));
});

test('armAt: a time passed fires on the next tick, not at once', () => {
  const fake = new FakeClock();
  let fired = 0;
  armAt(strictClock(fake), fake.now() - 5000, () => fired++);
  assert.equal(fired, 0);
  fake.advance(0);
  assert.equal(fired, 1);
  // a fractional time is not a fractional delay
  armAt(strictClock(fake), fake.now() + 0.5, () => fired++);
  fake.advance(1);
  assert.equal(fired, 2);
});

test('armAt: a wake that comes early re-arms for the rest', () => {
  const fake = new FakeClock();
  // a clock whose long timers fire 10 ms early (short ones on time, so the fake moves on)
  let wakes = 0;
  const early: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(() => (wakes++, fn()), ms > 10 ? ms - 10 : ms) };
  let fired = 0;
  const when = fake.now() + 1000;
  armAt(early, when, () => fired++);
  fake.advance(990);
  assert.equal(fired, 0);
  assert.equal(wakes, 1);
  fake.advance(10);
  assert.equal(fired, 1);
  assert.equal(wakes, 2);
  assert.ok(fake.now() >= when);
});

test('armAt: cancel before firing, and after a re-arm step, stops it', () => {
  const fake = new FakeClock();
  const clock = strictClock(fake);
  let fired = 0;
  armAt(clock, fake.now() + 1000, () => fired++).cancel();
  fake.advance(2000);
  assert.equal(fired, 0);
  const far = armAt(clock, fake.now() + 40 * DAY, () => fired++);
  fake.advance(30 * DAY); // past the first step: it has re-armed
  assert.equal(fake.pending(), 1);
  far.cancel();
  assert.equal(fake.pending(), 0);
  fake.advance(20 * DAY);
  assert.equal(fired, 0);
  far.cancel(); // twice is harmless
});

test('a day past the end of every month given never comes: refused when parsed, not searched for at each next()', () => {
  for (const e of ['0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 0 31 2 *']) {
    assert.throws(() => parseCron(e, 'UTC'), (err: Error) => /would never run/.test(err.message) && !err.message.includes('\n'), e);
  }
  // One that comes rarely, or by its day of the week (Vixie's OR), or the last day, is taken.
  const t = Date.parse('2026-03-01T00:00:00Z');
  assert.equal(parseCron('0 0 29 2 *', 'UTC').next(t), Date.parse('2028-02-29T00:00:00Z'));
  assert.equal(parseCron('0 0 30 2 1', 'UTC').next(t), Date.parse('2027-02-01T00:00:00Z'), 'a Monday of February');
  assert.equal(parseCron('0 0 L 2 *', 'UTC').next(t), Date.parse('2027-02-28T00:00:00Z'));
});

test('a zone whose offset jumped by a day (Samoa, 30 Dec 2011): the next time still comes, not null; an empty timezone is refused', () => {
  const s = parseCron('0 3 * * *', 'Pacific/Apia');
  const n = s.next(at('2011-12-29T13:00:00Z'));
  assert.ok(n !== null && n > at('2011-12-29T13:00:00Z'), String(n));
  assert.throws(() => parseCron('* * * * *', ''), /empty timezone/);
  assert.throws(() => parseCron('* * * * *', '', new Map()), /empty timezone/);
});

test('DST spring gap: every wall time in it fires, moved forward by the gap (0,30 2 in Berlin: 03:00 and 03:30 CEST); an every-second schedule right after the change stays exact', () => {
  assert.deepEqual(fires('0,30 2 * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z').map(isoOf), ['2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z']);
  const s = parseCron('* * * * * *', 'Europe/Berlin');
  for (const t of ['2026-03-29T01:00:00.000Z', '2026-03-29T02:30:00.400Z', '2026-03-29T03:59:59.000Z']) assert.equal(s.next(at(t)), Math.floor(at(t) / 1000) * 1000 + 1000, t);
});
