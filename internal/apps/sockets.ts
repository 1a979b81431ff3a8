/**
 * An app's listening sockets (`sockets:`), pure: what an address means, and the environment a
 * program that gets them sees (sd_listen_fds' protocol: fds 3..., LISTEN_FDS, LISTEN_FDNAMES;
 * LISTEN_PID is set by the exec helper in the program itself, so it is the program's own pid).
 */
import { invalidArgument } from '../protocol/errors';
import type { SocketSpec } from '../protocol/methods';

/** The most sockets one app may have. */
export const MAX_SOCKETS = 16;

/** The most sockets one user's apps may have together (the exec server holds 4096 for everyone). */
export const MAX_SOCKETS_PER_USER = 64;

/** The variables of the protocol: never passed on from an app's own env. */
export const LISTEN_VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID'] as const;

/** A TCP address to listen on. */
export interface TcpListen {
  family: 4 | 6;
  address: string;
  port: number;
}

/** A Unix socket path to listen on (bound as the app's user). */
export interface UnixListen {
  family: 'unix';
  path: string;
}

export type Listen = TcpListen | UnixListen;

/** sun_path holds 108 bytes with its NUL. */
const MAX_UNIX_PATH = 107;

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * "HOST:PORT" (IPv4), "[V6]:PORT", ":PORT" or "PORT" (all IPv4 addresses), with an optional
 * "tcp://"; or a Unix socket path, "/ABS/PATH" or "unix:/ABS/PATH" (no . or .. parts, at most
 * 107 bytes). Throws invalidArgument.
 */
export function parseListen(text: string): Listen {
  const bad = (why: string): Error => invalidArgument(`socket "${text.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 60)}": ${why}`);
  if (/[\x00-\x1f\x7f\s]/.test(text)) throw bad('contains a space or a control character');
  let s = text;
  if (s.startsWith('tcp://')) s = s.slice(6);
  if (s.startsWith('unix:')) s = s.slice(5);
  if (s.startsWith('/')) {
    if (Buffer.byteLength(s) > MAX_UNIX_PATH) throw bad(`a Unix socket path is at most ${MAX_UNIX_PATH} bytes`);
    if (s.endsWith('/') || s.split('/').slice(1).some((p) => p === '' || p === '.' || p === '..')) throw bad('a Unix socket path without empty, . or .. parts');
    return { family: 'unix', path: s };
  }
  if (text.startsWith('unix:')) throw bad('a Unix socket path is absolute');
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    port = v6[2]!;
    if (!V6.test(host) || !host.includes(':')) throw bad('not an IPv6 address in [ ]');
  } else if (/^\d+$/.test(s) || /^:\d+$/.test(s)) {
    host = '0.0.0.0';
    port = s.replace(':', '');
  } else {
    const i = s.lastIndexOf(':');
    if (i <= 0) throw bad('want HOST:PORT, [IPv6]:PORT or :PORT');
    host = s.slice(0, i);
    port = s.slice(i + 1);
    if (host === 'localhost') host = '127.0.0.1';
    if (!V4.test(host)) throw bad('the host is an IPv4 address (names are not resolved; IPv6 goes in [ ])');
  }
  const p = Number(port);
  if (!/^\d{1,5}$/.test(port) || p < 1 || p > 65535) throw bad('the port is 1-65535');
  return { family: host.includes(':') ? 6 : 4, address: host, port: p };
}

/** "HOST:PORT" as written back (IPv6 in brackets), or the path. */
export function formatListen(l: Listen): string {
  if (l.family === 'unix') return l.path;
  return l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

/** An app's sockets checked and written one way (names defaulted to the app's); throws invalidArgument naming the first bad one. */
export function checkSockets(app: string, list: SocketSpec[]): SocketSpec[] {
  if (list.length > MAX_SOCKETS) throw invalidArgument(`sockets: at most ${MAX_SOCKETS}`);
  const seen = new Set<string>();
  return list.map((s) => {
    const l = parseListen(s.listen);
    const listen = formatListen(l);
    if (seen.has(listen)) throw invalidArgument(`socket "${listen}" is listed twice`);
    seen.add(listen);
    if (s.mode !== undefined && l.family !== 'unix') throw invalidArgument(`socket "${listen}": mode is a Unix socket's`);
    return { listen, name: s.name ?? app, ...(s.backlog !== undefined ? { backlog: s.backlog } : {}), ...(s.mode !== undefined ? { mode: s.mode } : {}) };
  });
}

/** The ports below 1024 among sockets (on Linux only root binds them: an admin's to give). */
export function privilegedPorts(list: SocketSpec[]): number[] {
  return list.flatMap((s) => {
    const l = parseListen(s.listen);
    return l.family !== 'unix' && l.port < 1024 ? [l.port] : [];
  });
}

/** What a program given these sockets (fds 3...) finds in its environment, besides LISTEN_PID. */
export function listenEnv(list: SocketSpec[]): Record<string, string> {
  if (list.length === 0) return {};
  return { LISTEN_FDS: String(list.length), LISTEN_FDNAMES: list.map((s) => s.name ?? 'unknown').join(':') };
}
