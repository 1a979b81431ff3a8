/**
 * What /proc says about a process tree's network side and family, for readiness checks: the
 * TCP sockets it listens on (its own fds matched against /proc/PID/net/tcp{,6}), its
 * descendants, a process's parent. Every read is bounded (a hostile app may hold many fds or
 * fork many children) and a vanished process is simply absent, never an error.
 */
import * as fs from 'node:fs';

/** The most processes of one tree looked at. */
const MAX_TREE = 256;
/** The most fds of one process looked at. */
const MAX_FDS = 65_536;

/** A listening TCP socket: its local address as the kernel shows it, and port. */
export interface ListeningSocket {
  address: string;
  port: number;
}

/** pid and its descendants (breadth first, at most MAX_TREE), from /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length && out.length < MAX_TREE; i++) {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let text = '';
      try {
        text = fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const w of text.split(' ')) {
        const c = Number(w);
        if (Number.isInteger(c) && c > 0 && !out.includes(c) && out.length < MAX_TREE) out.push(c);
      }
    }
  }
  return out;
}

/** The parent of pid, or undefined if it is gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Socket inodes among pid's fds. */
function socketInodes(pid: number, into: Set<string>): void {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return;
  }
  for (const fd of fds.slice(0, MAX_FDS)) {
    try {
      const l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.startsWith('socket:[')) into.add(l.slice(8, -1));
    } catch {
      /* closed meanwhile */
    }
  }
}

/** "0100007F" (network order, as /proc prints it) → "127.0.0.1"; 32 hex digits → an IPv6 address. */
function hexAddress(hex: string): string {
  if (hex.length === 8) {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const n = parseInt(hex.slice(i, i + 8), 16);
    const b = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
    words.push(((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16));
  }
  const full = words.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  return full;
}

/** The TCP sockets the processes of pid's tree listen on (in pid's network namespace). */
export function listeningSockets(pid: number, exclude: ReadonlySet<number> = new Set()): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const p of processTree(pid)) socketInodes(p, inodes);
  if (inodes.size === 0) return [];
  const out: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      const [addr, port] = f[1]!.split(':');
      const p = parseInt(port!, 16);
      if (!exclude.has(p)) out.push({ address: hexAddress(addr!), port: p });
    }
  }
  return out;
}
