/**
 * `topn`'s pure parts: the order (busiest first) and the table. The handler
 * (handlers/top.ts) fetches `list` and redraws; nothing here does I/O.
 */
import type { ProcessSummary } from '../protocol/methods';
import { formatBytes, formatUptime, type Look, PLAIN, statusColor, table } from './render';

/** Descending by a figure that may be unknown (null: a stopped process); unknown sorts last. */
function desc(x: number | null, y: number | null): number {
  if (x === y) return 0;
  if (x === null) return 1;
  if (y === null) return -1;
  return y - x;
}

/** Busiest first: CPU, then memory, both descending (unknown last), then id. A new array. */
export function topOrder<T extends ProcessSummary>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => desc(a.cpu, b.cpu) || desc(a.memory, b.memory) || a.id - b.id);
}

const HEADERS = ['PID', 'Name', 'User', 'CPU', 'Mem', 'Status', 'Uptime'];

/** One row per process, in the order given; Name and User are cut to fit look.width. */
export function topTable(list: readonly ProcessSummary[], look: Look = PLAIN): string {
  const status = HEADERS.indexOf('Status');
  return table(
    HEADERS,
    list.map((p) => [
      p.pid === null ? '-' : String(p.pid),
      p.name,
      p.user,
      p.cpu === null ? '-' : `${p.cpu.toFixed(1)}%`,
      formatBytes(p.memory),
      p.status,
      formatUptime(p.uptime_ms),
    ]),
    look,
    { shrinkable: [1, 2], color: (col, raw) => (col === status ? statusColor(raw) : undefined) },
  );
}
