/** Commands that show processes: ls (filter, sort) and desc. */
import type { ProcessSummary } from '../../protocol/methods';
import { describeTable, processTable } from '../render';
import { withClient } from '../session';
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
  const all = await withClient((c) => c.listAll());
  const shown = filterAndSort(all, {
    pattern: arg(r, 'pattern'),
    statuses: list(r, 'status'),
    user: str(r, 'user'),
    sort: (str(r, 'sort') ?? 'id') as SortKey,
    reverse: bool(r, 'reverse'),
  });
  return { text: processTable(shown, io.look), value: shown };
};

export const desc: Handler = async (r, io) => {
  const p = await withClient((c) => c.call('describe', { target: arg(r, 'target')! }));
  return { text: describeTable(p, io.look), value: p };
};
