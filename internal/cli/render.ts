/**
 * Human output: tables for ls and desc. Plain text, no colour codes when not a TTY.
 * Every cell and every error line goes through printable(): names, paths and
 * arguments come from users, and a directory named with ESC sequences must not
 * drive the terminal of the root who lists it.
 */
import type { ProcessSummary, ProcessView } from '../protocol/methods';

import { printable } from '../text';

export { printable };

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

/** A boxed table. */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const row = (cells: string[]): string => '│' + cells.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('│') + '│';
  return [line('┌', '┬', '┐'), row(headers), line('├', '┼', '┤'), ...rows.map(row), line('└', '┴', '┘')].join('\n');
}

export function processTable(list: ProcessSummary[]): string {
  const headers = ['ID', 'Name', 'PID', 'Restarts', 'Status', 'User', 'CPU', 'Mem', 'Uptime'];
  const rows = list.map((p) => [
    String(p.id),
    p.name,
    p.pid === null ? '-' : String(p.pid),
    String(p.restarts),
    p.status,
    p.user,
    p.cpu === null ? '-' : `${p.cpu.toFixed(1)}%`,
    formatBytes(p.memory),
    formatUptime(p.uptime_ms),
  ]);
  return table(headers, rows);
}

export function describeTable(p: ProcessView): string {
  const rows: Array<[string, string]> = [
    ['id', String(p.id)],
    ['name', p.name],
    ['status', p.status],
    ['pid', p.pid === null ? '-' : String(p.pid)],
    ['restarts', String(p.restarts)],
    ['user', `${p.user} (uid ${p.uid}, gid ${p.gid})`],
    ['process_file', p.process_file],
    ['args', JSON.stringify(p.args)],
    ['env', Object.keys(p.env).length ? Object.keys(p.env).join(' ') : '-'],
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
    ...(p.saved ? [] : ([['saved', 'no: only in pmond\'s memory (its database cannot be written)']] as Array<[string, string]>)),
  ];
  return table(['Key', 'Value'], rows);
}
