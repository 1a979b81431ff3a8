/**
 * Human output: the process table, desc's two columns, colours and widths.
 * Every cell and every error line goes through printable(): names, paths and
 * arguments come from users, and a directory named with ESC sequences must not
 * drive the terminal of the root who lists it. Colour codes are added only
 * when the caller says the output is a colour terminal (see io.ts).
 */
import type { ProcessSummary, ProcessView } from '../protocol/methods';

import { printable } from '../text';

export { printable };

/** How to render for this output. */
export interface Look {
  /** ANSI colours. */
  color: boolean;
  /** Columns to fit in, or undefined for no limit (a pipe without COLUMNS). */
  width?: number;
}

export const PLAIN: Look = { color: false };

const SGR = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m' } as const;

/** text in a colour, when look.color. */
export function paint(look: Look, color: keyof typeof SGR, text: string): string {
  return look.color && text ? `${SGR[color]}${text}${SGR.reset}` : text;
}

/** The colour of a status: running green, failed red, backoff yellow, stopped dim, the rest cyan. */
export function statusColor(status: string): keyof typeof SGR {
  switch (status) {
    case 'running':
    case 'completed':
      return 'green';
    case 'failed':
      return 'red';
    case 'backoff':
    case 'starting':
      return 'yellow';
    case 'stopped':
      return 'dim';
    default:
      return 'cyan';
  }
}

export function formatBytes(n: number | null): string {
  if (n === null) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatUptime(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Cut text to width characters, ending in "…" when cut. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

/** Options of a table. */
export interface TableOptions {
  /** Columns that may be cut to fit look.width, widest first (others keep their width). */
  shrinkable?: readonly number[];
  /** A colour for a cell (after padding), by column and the cell's raw text. */
  color?: (col: number, raw: string) => keyof typeof SGR | undefined;
  /** The narrowest a shrinkable column gets (default 6). */
  minShrunk?: number;
}

/**
 * A boxed table. With look.width, the widest shrinkable columns are cut (never the rows
 * wrapped) until the table fits, down to MIN_SHRUNK characters each.
 */
export function table(headers: string[], cells: string[][], look: Look = PLAIN, opts: TableOptions = {}): string {
  const rows = cells.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  if (look.width !== undefined) {
    const total = (): number => widths.reduce((a, w) => a + w + 3, 1);
    const shrink = [...(opts.shrinkable ?? [])];
    while (total() > look.width) {
      const min = opts.minShrunk ?? 6;
      const col = shrink.filter((c) => widths[c]! > Math.max(min, headers[c]!.length)).sort((a, b) => widths[b]! - widths[a]!)[0];
      if (col === undefined) break;
      widths[col]!--;
    }
  }
  const line = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const row = (cs: string[], raw?: string[]): string =>
    '│' +
    cs
      .map((c, i) => {
        const text = truncate(c, widths[i]!).padEnd(widths[i]!);
        const color = raw ? opts.color?.(i, raw[i] ?? '') : undefined;
        return ` ${color ? paint(look, color, text) : text} `;
      })
      .join('│') +
    '│';
  const head = headers.map((h, i) => truncate(h, widths[i]!));
  return [line('┌', '┬', '┐'), row(head), line('├', '┼', '┤'), ...rows.map((r, i) => row(r, cells[i])), line('└', '┴', '┘')].join('\n');
}

/** ls's columns: header, cell, whether it may be cut to fit, and the order in which columns are left out when cutting is not enough (lowest first; 0 = always shown). */
const COLUMNS: ReadonlyArray<{ header: string; cell: (p: ProcessSummary) => string; shrink?: boolean; dropOrder: number }> = [
  { header: 'ID', cell: (p) => String(p.id), dropOrder: 0 },
  { header: 'Name', cell: (p) => p.name, shrink: true, dropOrder: 0 },
  { header: 'PID', cell: (p) => (p.pid === null ? '-' : String(p.pid)), dropOrder: 6 },
  { header: 'Restarts', cell: (p) => String(p.restarts), dropOrder: 4 },
  { header: 'Status', cell: (p) => p.status, dropOrder: 0 },
  { header: 'User', cell: (p) => p.user, shrink: true, dropOrder: 3 },
  { header: 'CPU', cell: (p) => (p.cpu === null ? '-' : `${p.cpu.toFixed(1)}%`), dropOrder: 1 },
  { header: 'Mem', cell: (p) => formatBytes(p.memory), dropOrder: 5 },
  { header: 'Uptime', cell: (p) => formatUptime(p.uptime_ms), dropOrder: 2 },
];

/**
 * ls's table. Too wide for look.width: Name and User are cut (to 12 characters at most), then
 * columns are left out (CPU, Uptime, User, Restarts, Mem, PID, in that order) until it fits;
 * ID, Name and Status always stay, Name cut further if it must.
 */
export function processTable(list: ProcessSummary[], look: Look = PLAIN): string {
  const render = (shown: typeof COLUMNS, minShrunk: number): string => {
    const headers = shown.map((c) => c.header);
    const status = headers.indexOf('Status');
    return table(
      headers,
      list.map((p) => shown.map((c) => c.cell(p))),
      look,
      { shrinkable: shown.flatMap((c, i) => (c.shrink ? [i] : [])), color: (col, raw) => (col === status ? statusColor(raw) : undefined), minShrunk },
    );
  };
  const fits = (out: string): boolean => look.width === undefined || out.indexOf('\n') <= look.width;
  const shown = [...COLUMNS];
  const drops = COLUMNS.filter((c) => c.dropOrder > 0).sort((a, b) => a.dropOrder - b.dropOrder);
  for (;;) {
    const out = render(shown, 12);
    const next = drops.shift();
    if (fits(out)) return out;
    if (!next) return render(shown, 6);
    shown.splice(shown.indexOf(next), 1);
  }
}

/** A word as a POSIX shell would need it quoted (for showing argv readably; never run). */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** desc: two columns, key and value, every value the user set included. */
export function describeTable(p: ProcessView, look: Look = PLAIN): string {
  const envNames = Object.keys(p.env);
  const rows: Array<[string, string]> = [
    ['id', String(p.id)],
    ['name', p.name],
    ['status', p.status],
    ['pid', p.pid === null ? '-' : String(p.pid)],
    ['restarts', String(p.restarts)],
    ['user', `${p.user} (uid ${p.uid}, gid ${p.gid})`],
    ['process_file', p.process_file],
    ['args', p.args.length ? p.args.map(shellQuote).join(' ') : '-'],
    ['env', envNames.length ? envNames.join(' ') : '-'],
    ['cwd', p.cwd],
    ['log', p.log],
    ['cgroup', p.cgroup ?? '- (process group only)'],
    ['auto_restart', String(p.auto_restart)],
    ['cpu', p.cpu === null ? '-' : `${p.cpu.toFixed(1)}%`],
    ['memory', formatBytes(p.memory)],
    ['uptime', formatUptime(p.uptime_ms)],
    ['last_exit', p.last_signal ?? (p.last_exit_code === null ? '-' : String(p.last_exit_code))],
    ['started_at', p.started_at ?? '-'],
    ['created_at', p.created_at],
    ['updated_at', p.updated_at],
    ...(p.source !== undefined ? ([['source', p.source.replace(/^file:/, '')]] as Array<[string, string]>) : []),
    ...(p.groups?.length ? ([['groups', p.groups.join(', ')]] as Array<[string, string]>) : []),
    ...(p.type !== undefined && p.type !== 'daemon' ? ([['type', p.type]] as Array<[string, string]>) : []),
    ...(p.next_run_at ? ([['next_run', p.next_run_at]] as Array<[string, string]>) : []),
    ...(p.reason ? ([['reason', p.reason]] as Array<[string, string]>) : []),
    ...(p.crash_files?.length ? ([['crash_files', p.crash_files.join(', ')]] as Array<[string, string]>) : []),
    ...(p.saved ? [] : ([['saved', "no: only in pmond's memory (its database cannot be written)"]] as Array<[string, string]>)),
  ];
  const keyWidth = Math.max(...rows.map(([k]) => k.length));
  return rows
    .map(([k, v]) => {
      const value = printable(v);
      const shown = k === 'status' ? paint(look, statusColor(v), value) : value;
      return `${paint(look, 'bold', k.padEnd(keyWidth))}  ${shown}`;
    })
    .join('\n');
}
