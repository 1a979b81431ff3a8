/**
 * A cron expression as systemd's OnCalendar= (systemd.time(7)), for `export --format systemd`.
 * Each field is taken from croner's parsed pattern (every value it matches), so steps and
 * ranges come out as lists systemd reads the same way. Pure.
 *
 * What systemd cannot say is refused, with why: a day of month and a day of week both given
 * (cron runs on either, Vixie's OR; systemd on both), and the nth weekday (`MON#2`).
 */
import { CronPattern } from 'croner';

const DOW = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The values a field matches ("*" when it matches all), offset (1 for day and month). */
function field(on: readonly number[], offset = 0, pad = 2): string {
  const vals = on.flatMap((v, i) => (v ? [i + offset] : []));
  if (vals.length === on.length) return '*';
  return vals.map((v) => String(v).padStart(pad, '0')).join(',');
}

/** OnCalendar= for a 5- or 6-field cron (nicknames too) in timezone, or { why } it cannot be said. */
export function onCalendar(expr: string, timezone?: string): { calendar: string } | { why: string } {
  const nick: Record<string, string> = { '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@hourly': '0 * * * *' };
  const text = nick[expr.trim().toLowerCase()] ?? expr.trim();
  const fields = text.split(/\s+/);
  const six = fields.length === 6 ? text : `0 ${text}`;
  let p: CronPattern;
  try {
    p = new CronPattern(six, timezone);
  } catch (e) {
    return { why: (e as Error).message };
  }
  if (/#/.test(fields.at(-1) ?? '')) return { why: 'the nth weekday (#) has no OnCalendar= form' };
  if (!p.starDOM && !p.starDOW) return { why: 'cron runs on the day of month or the day of week; OnCalendar= only on both' };
  const dowOn = p.dayOfWeek.slice(0, 7).map((v, i) => v || (i === 0 ? p.dayOfWeek[7] ?? 0 : 0));
  const dow = p.starDOW ? '' : `${dowOn.flatMap((v, i) => (v ? [DOW[i]!] : [])).join(',')} `;
  const day = p.lastDayOfMonth ? '~01' : `-${field(p.day, 1)}`;
  const date = `*-${field(p.month, 1)}${day}`;
  const time = `${field(p.hour)}:${field(p.minute)}:${field(p.second)}`;
  return { calendar: `${dow}${date} ${time}${timezone ? ` ${timezone}` : ''}` };
}
