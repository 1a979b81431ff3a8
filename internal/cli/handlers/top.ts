/**
 * topn: the processes busiest first (CPU, then memory), from `list` (which
 * carries pidusage's cpu and memory). On a terminal it redraws in place every
 * --seconds on the alternate screen with the cursor hidden, both restored on
 * Ctrl-C (or when pmond goes away: then the error is one line, as ever).
 * Printed once when stdout is not a terminal or with --once; --json prints one
 * snapshot (an array, as ls --json) and exits.
 */
import { topOrder, topTable } from '../top';
import { withClient } from '../session';
import { bool, type Handler, int } from './types';

/** ANSI: alternate screen on/off, cursor hidden/shown, cursor home + clear screen. */
const ALT_ON = '\x1b[?1049h';
const ALT_OFF = '\x1b[?1049l';
const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const HOME_CLEAR = '\x1b[H\x1b[2J';

/** Lines around the table's rows on screen: the title, the table's three rules and header, a "more" line. */
const CHROME_LINES = 6;

export const topn: Handler = async (r, io) => {
  const snapshot = async () => topOrder(await withClient((c) => c.listAll()));
  // node:tty is required here, not at the top: the start-up snapshot must not load it.
  const tty = require('node:tty') as typeof import('node:tty');
  if (io.json || bool(r, 'once') || !tty.isatty(1)) {
    const list = await snapshot();
    return { text: topTable(list, io.look), value: list };
  }
  const seconds = int(r, 'seconds');
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    process.stdout.write(SHOW + ALT_OFF);
  };
  const quit = (): void => {
    restore();
    process.exit(0);
  };
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  process.once('exit', restore);
  io.out(ALT_ON + HIDE);
  try {
    for (;;) {
      const list = await snapshot();
      const rows = process.stdout.rows ?? 24;
      const room = Math.max(1, rows - CHROME_LINES);
      const shown = list.length > room ? list.slice(0, room) : list;
      const look = { ...io.look, width: process.stdout.columns ?? io.look.width };
      const title = `pmon3 topn: ${list.length} process${list.length === 1 ? '' : 'es'}, every ${seconds} s, ${new Date().toLocaleTimeString()} (Ctrl-C quits)`;
      const more = list.length > shown.length ? `\n… ${list.length - shown.length} more` : '';
      io.out(`${HOME_CLEAR}${title}\n${topTable(shown, look)}${more}\n`);
      await new Promise((res) => setTimeout(res, seconds * 1000));
    }
  } finally {
    restore();
  }
};
