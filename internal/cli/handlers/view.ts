/** Commands that show processes: ls (filter, sort) and desc. */
import type { ProcessSummary } from '../../protocol/methods';
import { describeTable, processTable } from '../render';
import { withClient } from '../session';
import type { Io } from '../io';
import { arg, bool, type Handler, list, str } from './types';

/** A name pattern with * and ? as a whole-name RegExp (everything else literal). */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+(){}[\]]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

type SortKey = 'id' | 'name' | 'status' | 'user' | 'restarts' | 'cpu' | 'mem' | 'uptime';

const KEYS: Record<SortKey, (p: ProcessSummary) => string | number | null> = {
  id: (p) => p.id,
  name: (p) => p.name,
  status: (p) => p.status,
  user: (p) => p.user,
  restarts: (p) => p.restarts,
  cpu: (p) => p.cpu,
  mem: (p) => p.memory,
  uptime: (p) => p.uptime_ms,
};

/** ls's filters and order, applied to pmond's list. Unknown values (null cpu ...) sort last either way. */
export function filterAndSort<T extends ProcessSummary>(
  all: T[],
  o: { pattern?: string; statuses: string[]; user?: string; sort: SortKey; reverse: boolean },
): T[] {
  const re = o.pattern !== undefined ? globToRegExp(o.pattern) : undefined;
  const kept = all.filter(
    (p) =>
      (!re || re.test(p.name)) &&
      (o.statuses.length === 0 || o.statuses.includes(p.status)) &&
      (o.user === undefined || p.user === o.user || String(p.uid) === o.user),
  );
  const key = KEYS[o.sort];
  const dir = o.reverse ? -1 : 1;
  return kept.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === null || y === null) return x === y ? a.id - b.id : x === null ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? c * dir : a.id - b.id;
  });
}

export const ls: Handler = async (r, io) => {
  const pick = (all: ProcessSummary[]): ProcessSummary[] =>
    filterAndSort(all, {
      pattern: arg(r, 'pattern'),
      statuses: list(r, 'status'),
      user: str(r, 'user'),
      sort: (str(r, 'sort') ?? 'id') as SortKey,
      reverse: bool(r, 'reverse'),
    });
  if (bool(r, 'watch')) return watch(io, pick);
  const shown = pick(await withClient((c) => c.listAll()));
  return { text: processTable(shown, io.look), value: shown };
};

/**
 * ls --watch: the table again whenever pmond's `events` stream says something changed (at most
 * every 100 ms) and every 2 s (CPU, memory, uptime), until Ctrl-C or pmond goes (exit 7). On a
 * terminal each table replaces the last; elsewhere (and with --json, one array per line) they follow.
 */
async function watch(io: Io, pick: (all: ProcessSummary[]) => ProcessSummary[]): Promise<undefined> {
  await withClient(async (c) => {
    await c.require('events', 'ls --watch');
    let timer: NodeJS.Timeout | undefined;
    let drawing = false;
    let again = false;
    const tty = !!process.stdout.isTTY;
    const draw = async (): Promise<void> => {
      if (drawing) return void (again = true);
      drawing = true;
      try {
        const shown = pick(await c.listAll());
        if (io.json) io.out(`${JSON.stringify(shown)}\n`);
        else io.out(`${tty ? '\x1b[H\x1b[2J' : ''}${processTable(shown, io.look)}\n${tty ? '' : '\n'}`);
      } finally {
        drawing = false;
      }
      if (again) {
        again = false;
        await draw();
      }
    };
    const soon = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void draw().catch(() => undefined), 100);
    };
    const tick = setInterval(() => void draw().catch(() => undefined), 2000);
    const stop = (): void => {
      clearInterval(tick);
      c.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await draw();
    try {
      await c.call('events', {}, { onEvent: (d) => d && soon() });
    } finally {
      clearInterval(tick);
      clearTimeout(timer);
    }
  });
  return undefined;
}

export const desc: Handler = async (r, io) => {
  const p = await withClient((c) => c.call('describe', { target: arg(r, 'target')! }));
  return { text: describeTable(p, io.look), value: p };
};
